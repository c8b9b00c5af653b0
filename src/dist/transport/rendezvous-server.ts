import { createServer, type Server, type Socket } from 'node:net';
import { normalizeAddress, onControlMessages, sendControl, type ControlMessage } from './control.js';
import { RendezvousError } from './errors.js';

export interface RendezvousServerOptions {
  worldSize: number;
  port: number;
  bindHost: string;
  runId: string;
  timeoutMs: number;
  waitReportMs: number;
  heartbeatMs: number;
  heartbeatTimeoutMs: number;
  log: (line: string) => void;
}

/** How long a reported broken link waits for the suspect's own connection to close (then it counts as dead). */
const SUSPECT_DELAY_MS = 1000;

interface Member {
  socket: Socket;
  host: string;
  pid: number;
  dataPort: number;
  lastSeen: number;
  ready: boolean;
  bye: boolean;
}

/**
 * Rank 0's side of the control star: collects every rank's hello, tells everyone where the
 * others listen, then relays heartbeats and failures: the first rank that dies, hangs or is
 * reported unreachable makes the server send `abort` (naming it) to every other rank.
 */
export class RendezvousServer {
  private readonly server: Server;
  private readonly members = new Map<number, Member>();
  private aborted = false;
  private shuttingDown = false;
  private timers: NodeJS.Timeout[] = [];
  private readonly started = Date.now();

  private constructor(private readonly o: RendezvousServerOptions, server: Server) {
    this.server = server;
    server.on('connection', (s) => this.accept(s));
    this.timers.push(setInterval(() => this.reportWaiting(), o.waitReportMs).unref());
    this.timers.push(setTimeout(() => this.rendezvousTimeout(), o.timeoutMs).unref());
  }

  /** Listens on `bindHost:port`; a port in use fails with a message that suggests a free one. */
  static async listen(o: RendezvousServerOptions): Promise<RendezvousServer> {
    const server = createServer();
    server.on('connection', (s) => s.setNoDelay(true));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: o.port, host: o.bindHost, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        const free = await findFreePort(o.bindHost, o.port + 1);
        throw new RendezvousError(
          `rendezvous port ${o.port} on ${o.bindHost} is already in use (another job or program holds it); use another port, e.g. --port ${free} (or dist_params.port / MASTER_PORT / PORT)`,
          { suggestions: [`--port ${free}`] },
        );
      }
      if (err.code === 'EADDRNOTAVAIL') {
        throw new RendezvousError(`cannot listen on ${o.bindHost}:${o.port}: MASTER_ADDR ${o.bindHost} is not an address of this machine (rank 0 must run on the master host)`);
      }
      throw err;
    });
    return new RendezvousServer(o, server);
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : this.o.port;
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const m of this.members.values()) m.socket.destroy();
    this.server.close();
  }

  private accept(socket: Socket): void {
    let rank = -1;
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (rank < 0 || this.members.get(rank)?.socket !== socket) return;
      const m = this.members.get(rank)!;
      if (this.shuttingDown || m.bye) return;
      this.abort(rank, `rank ${rank} (pid ${m.pid} on ${m.host}) died: its connection closed`);
    });
    onControlMessages(socket, (msg: ControlMessage) => {
      if (msg.t === 'hello') {
        const reason = this.checkHello(msg);
        if (reason) {
          sendControl(socket, { t: 'reject', reason });
          socket.end();
          return;
        }
        rank = msg.rank;
        this.members.set(rank, {
          socket,
          host: normalizeAddress(socket.remoteAddress),
          pid: msg.pid,
          dataPort: msg.dataPort,
          lastSeen: Date.now(),
          ready: false,
          bye: false,
        });
        if (this.members.size === this.o.worldSize) this.sendPeers();
        return;
      }
      const m = this.members.get(rank);
      if (!m || m.socket !== socket) return;
      m.lastSeen = Date.now();
      if (msg.t === 'ready') {
        m.ready = true;
        if ([...this.members.values()].every((x) => x.ready)) this.broadcast({ t: 'go' });
      } else if (msg.t === 'suspect') {
        // A dead rank's control connection usually closes a moment later: prefer that diagnosis.
        const reporter = rank;
        setTimeout(() => this.abort(msg.rank, `rank ${reporter} lost its link to rank ${msg.rank}: ${msg.reason}`), SUSPECT_DELAY_MS).unref();
      } else if (msg.t === 'fatal') {
        this.abort(-1, `rank ${rank} stopped the job: ${msg.reason}`);
      } else if (msg.t === 'bye') {
        m.bye = true;
        for (const [r, other] of this.members) if (r !== rank && !other.bye) sendControl(other.socket, { t: 'left', rank, seq: msg.seq });
        if ([...this.members.values()].every((x) => x.bye)) {
          this.shuttingDown = true;
          this.broadcast({ t: 'shutdown' });
          this.close();
        }
      }
    });
  }

  private checkHello(msg: Extract<ControlMessage, { t: 'hello' }>): string | undefined {
    if (this.aborted) return 'the job was already aborted';
    if (msg.runId !== this.o.runId) {
      return `this rendezvous port belongs to another job (run id "${this.o.runId}", yours "${msg.runId}"); give each job its own --port`;
    }
    if (msg.worldSize !== this.o.worldSize) {
      return `world size mismatch: rank 0 expects ${this.o.worldSize} ranks, rank ${msg.rank} says ${msg.worldSize}; start every rank with the same WORLD_SIZE`;
    }
    if (!Number.isInteger(msg.rank) || msg.rank < 0 || msg.rank >= this.o.worldSize) return `rank ${msg.rank} is outside 0..${this.o.worldSize - 1}`;
    const prior = this.members.get(msg.rank);
    if (prior) return `rank ${msg.rank} already joined from ${prior.host} (pid ${prior.pid}); two processes have RANK=${msg.rank}, or two jobs share this port`;
    return undefined;
  }

  private sendPeers(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [setInterval(() => this.heartbeat(), this.o.heartbeatMs).unref()];
    const peers = [...Array(this.o.worldSize).keys()].map((r) => ({ host: this.members.get(r)!.host, port: this.members.get(r)!.dataPort }));
    this.broadcast({ t: 'peers', peers });
  }

  private heartbeat(): void {
    const now = Date.now();
    for (const [rank, m] of this.members) {
      if (!m.bye && now - m.lastSeen > this.o.heartbeatTimeoutMs) {
        this.abort(rank, `rank ${rank} (pid ${m.pid} on ${m.host}) sent no heartbeat for ${Math.round((now - m.lastSeen) / 1000)} s (hung or unreachable)`);
        return;
      }
    }
    this.broadcast({ t: 'hb' });
  }

  private missing(): number[] {
    return [...Array(this.o.worldSize).keys()].filter((r) => !this.members.has(r));
  }

  private reportWaiting(): void {
    const missing = this.missing();
    if (missing.length === 0) return;
    const left = Math.max(0, Math.round((this.o.timeoutMs - (Date.now() - this.started)) / 1000));
    this.o.log(
      `rendezvous on port ${this.port}: ${this.members.size}/${this.o.worldSize} ranks joined; waiting for rank${missing.length > 1 ? 's' : ''} ${formatRanks(missing)} (timeout in ${left} s)`,
    );
  }

  private rendezvousTimeout(): void {
    const missing = this.missing();
    if (missing.length === 0) return;
    this.abort(
      -1,
      `rendezvous timed out after ${Math.round(this.o.timeoutMs / 1000)} s on port ${this.port}: rank${missing.length > 1 ? 's' : ''} ${formatRanks(missing)} never joined (start every rank with the same MASTER_ADDR/MASTER_PORT and WORLD_SIZE=${this.o.worldSize}, or raise dist_params.timeout)`,
    );
  }

  private abort(dead: number, reason: string): void {
    if (this.aborted || this.shuttingDown) return;
    this.aborted = true;
    this.broadcast({ t: 'abort', dead, reason });
    // Give the messages a moment to leave before the sockets go.
    setTimeout(() => this.close(), 200).unref();
  }

  private broadcast(msg: ControlMessage): void {
    for (const m of this.members.values()) sendControl(m.socket, msg);
  }
}

/** `[1, 2, 3, 7]` -> `1-3, 7`. */
export function formatRanks(ranks: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ranks.length; ) {
    let j = i;
    while (j + 1 < ranks.length && ranks[j + 1] === ranks[j] + 1) j++;
    parts.push(j > i ? `${ranks[i]}-${ranks[j]}` : String(ranks[i]));
    i = j + 1;
  }
  return parts.join(', ');
}

/** The first port from `start` on that can be bound on `host` (for suggestions). */
export async function findFreePort(host: string, start: number): Promise<number> {
  for (let p = start; p < Math.min(start + 100, 65536); p++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen({ port: p, host, exclusive: true }, () => s.close(() => resolve(true)));
    });
    if (ok) return p;
  }
  return start;
}
