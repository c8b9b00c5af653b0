import type { Socket } from 'node:net';

/** Messages on the control star (every rank <-> rank 0's rendezvous server), one JSON object per line. */
export type ControlMessage =
  | { t: 'hello'; rank: number; worldSize: number; dataPort: number; runId: string; host: string; pid: number }
  | { t: 'reject'; reason: string }
  | { t: 'peers'; peers: { host: string; port: number }[] }
  | { t: 'ready' }
  | { t: 'go' }
  | { t: 'hb' }
  | { t: 'abort'; dead: number; reason: string }
  | { t: 'suspect'; rank: number; reason: string }
  | { t: 'fatal'; reason: string }
  /** `seq`: how many collectives the leaving rank completed; the others' collectives up to it can still finish. */
  | { t: 'bye'; seq: number }
  | { t: 'left'; rank: number; seq: number }
  | { t: 'shutdown' };

/** Reads newline-delimited JSON messages from a socket. */
export function onControlMessages(socket: Socket, handle: (m: ControlMessage) => void): void {
  let buf = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim() === '') continue;
      let msg: ControlMessage;
      try {
        msg = JSON.parse(line) as ControlMessage;
      } catch {
        socket.destroy(new Error(`unreadable control message "${line.slice(0, 80)}" (another program on this port?)`));
        return;
      }
      handle(msg);
    }
  });
}

export function sendControl(socket: Socket, msg: ControlMessage): void {
  if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify(msg)}\n`);
}

/** `::ffff:10.0.0.5` -> `10.0.0.5`. */
export function normalizeAddress(addr: string | undefined): string {
  if (!addr) return '127.0.0.1';
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}
