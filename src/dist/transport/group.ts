import { hostname } from 'node:os';
import { connect, createServer, type OnReadOpts, type Server, type Socket } from 'node:net';
import { RecvChannel } from './channel.js';
import { onControlMessages, sendControl, type ControlMessage } from './control.js';
import { PeerFailureError, RendezvousError } from './errors.js';
import { RendezvousServer } from './rendezvous-server.js';

export interface GroupOptions {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  /** Rendezvous timeout (dist_params.timeout), seconds. Default 300. */
  timeoutS?: number;
  /** Every rank of a job must give the same id; a different id on the same port is refused. */
  runId?: string;
  /** Where waiting/progress lines go (default stderr). */
  log?: (line: string) => void;
  waitReportS?: number;
  heartbeatS?: number;
  heartbeatTimeoutS?: number;
  /** Called once when the group fails (a peer died or hung); pending and later operations reject. */
  onFailure?: (err: PeerFailureError) => void;
}

const HANDSHAKE_MAGIC = 0x53534c52; // "SSLR"
/** How long a rank whose link broke waits for rank 0 to name the dead rank before naming its neighbour itself. */
const SUSPECT_GRACE_MS = 3000;

export function isLoopback(addr: string): boolean {
  return addr === 'localhost' || addr.startsWith('127.') || addr === '::1';
}

/**
 * A process group over TCP: a control star to rank 0 (rendezvous, heartbeats, failure
 * notices) and a data ring (rank r sends to r+1 and receives from r-1) used by the
 * collectives in `collectives.ts`. Create with {@link ProcessGroup.create} on every rank.
 */
export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  /** Socket to rank (r+1) mod W (sending only); undefined when alone. */
  next?: Socket;
  /** Frames from rank (r-1) mod W. */
  prev?: RecvChannel;
  private prevSocket?: Socket;
  private control?: Socket;
  private dataServer?: Server;
  private rendezvous?: RendezvousServer;
  private failure?: PeerFailureError;
  private closing = false;
  private seq = 0;
  private lastFromMaster = Date.now();
  private timers: NodeJS.Timeout[] = [];
  private suspectTimer?: NodeJS.Timeout;
  private shutdownWaiter?: () => void;

  private constructor(private readonly o: Required<Omit<GroupOptions, 'onFailure'>> & Pick<GroupOptions, 'onFailure'>) {
    this.rank = o.rank;
    this.worldSize = o.worldSize;
  }

  /** Joins the job: rendezvous at masterAddr:masterPort, then connects the ring. */
  static async create(options: GroupOptions): Promise<ProcessGroup> {
    const g = new ProcessGroup({
      timeoutS: 300,
      runId: process.env.SSL_RUN_ID ?? process.env.TORCHELASTIC_RUN_ID ?? '',
      log: (line) => process.stderr.write(`${line}\n`),
      waitReportS: 10,
      heartbeatS: 2,
      heartbeatTimeoutS: 20,
      ...options,
    });
    if (g.worldSize === 1) return g;
    try {
      await g.join();
    } catch (e) {
      g.destroy();
      throw e;
    }
    return g;
  }

  /** Sequence number for the next collective (the same on every rank when all call the same ones). */
  nextSeq(): number {
    return ++this.seq;
  }

  /** Throws the failure if the group has failed. */
  check(): void {
    if (this.failure) throw this.failure;
    if (this.departed && this.seq + 1 > this.departedAfterSeq) throw this.departed;
  }

  /** The group's failure when there is one, else `err` (socket errors become the named failure). */
  explain(err: unknown): Error {
    return this.failure ?? this.departed ?? (err as Error);
  }

  /**
   * Like {@link explain}, but a broken link (a send into a socket the dead peer's kernel already
   * closed: EPIPE, "ended by the other party") can be noticed before the failure notice naming
   * the dead rank arrives: wait for that notice (at most the suspect grace and a second) so the
   * error names the rank that died, not the socket.
   */
  async explainLinkError(err: unknown): Promise<Error> {
    if (this.failure || this.departed || err instanceof PeerFailureError || !isLinkError(err)) return this.explain(err);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, SUSPECT_GRACE_MS + 1000);
      timer.unref();
      this.failureWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.explain(err);
  }

  private failureWaiters: (() => void)[] = [];

  get failed(): PeerFailureError | undefined {
    return this.failure;
  }

  /**
   * Leaves the job: tells rank 0, then keeps the links open until every rank has left (so a
   * slower rank finishing its last step sees no broken link). A rank that leaves while others
   * still run collectives makes those collectives fail naming it (it finished or stopped early).
   */
  async close(): Promise<void> {
    if (this.worldSize === 1 || this.failure) return this.destroy();
    this.closing = true;
    const done = new Promise<void>((resolve) => {
      this.shutdownWaiter = resolve;
      setTimeout(resolve, this.o.timeoutS * 1000).unref();
    });
    sendControl(this.control!, { t: 'bye', seq: this.seq });
    await done;
    this.destroy();
  }

  /** Set when another rank has left the job: no collective after its last one can complete. */
  private departed?: PeerFailureError;
  private departedAfterSeq = 0;

  /**
   * Rank `rank` left after completing `lastSeq` collectives. Collectives up to `lastSeq` still
   * complete here (its bytes for them are sent; they may arrive after this notice, which travels
   * on another socket); the first one after it fails naming the rank.
   */
  private peerLeft(rank: number, lastSeq: number): void {
    if (this.closing || this.failure || this.departed) return;
    this.departed = new PeerFailureError(rank, `rank ${this.rank}: rank ${rank} left the job (it finished or stopped early) while this rank still runs collectives`);
    this.departedAfterSeq = lastSeq;
    if (this.seq > lastSeq) this.prev?.fail(this.departed);
    for (const w of this.failureWaiters.splice(0)) w();
  }

  private destroy(): void {
    for (const t of this.timers) clearInterval(t);
    if (this.suspectTimer) clearTimeout(this.suspectTimer);
    this.next?.destroy();
    this.prevSocket?.destroy();
    // end() lets a last control message (fatal, bye) leave before the socket goes.
    const control = this.control;
    control?.end();
    if (control) setTimeout(() => control.destroy(), 1000).unref();
    this.dataServer?.close();
    this.rendezvous?.close();
  }

  private fail(dead: number, message: string): void {
    if (this.failure || this.closing) return;
    this.failure = new PeerFailureError(dead, `rank ${this.rank}: ${message}`);
    this.prev?.fail(this.failure);
    this.destroy();
    for (const w of this.failureWaiters.splice(0)) w();
    this.o.onFailure?.(this.failure);
  }

  private async join(): Promise<void> {
    const o = this.o;
    const deadline = Date.now() + o.timeoutS * 1000;
    const bindHost = isLoopback(o.masterAddr) ? (o.masterAddr === 'localhost' ? '127.0.0.1' : o.masterAddr) : '0.0.0.0';
    if (o.rank === 0) {
      this.rendezvous = await RendezvousServer.listen({
        worldSize: o.worldSize,
        port: o.masterPort,
        bindHost,
        runId: o.runId,
        timeoutMs: o.timeoutS * 1000,
        waitReportMs: o.waitReportS * 1000,
        heartbeatMs: o.heartbeatS * 1000,
        heartbeatTimeoutMs: o.heartbeatTimeoutS * 1000,
        log: o.log,
      });
    }
    const accepted = this.listenForNext(isLoopback(o.masterAddr) ? '127.0.0.1' : '0.0.0.0');
    const dataPort = await accepted.port;
    this.control = await connectWithRetry(o.masterAddr, o.masterPort, deadline, o.waitReportS * 1000, (left) =>
      o.log(`rank ${o.rank}: waiting for rank 0 at ${o.masterAddr}:${o.masterPort} (timeout in ${left} s)`),
    );
    const peers = await this.handshake(dataPort, deadline);
    const nextRank = (o.rank + 1) % o.worldSize;
    const prevRank = (o.rank - 1 + o.worldSize) % o.worldSize;
    // Each rank connects to its predecessor and receives on that socket (only a client socket can
    // read straight into a given buffer: net.connect's `onread`); it sends on the one its successor opens.
    this.prev = new RecvChannel(prevRank, (err) => {
      sendControl(this.control!, { t: 'fatal', reason: err.message });
      this.fail(-1, err.message);
    });
    const [prev, next] = await Promise.all([connectData(peers[prevRank].host, peers[prevRank].port, o.rank, deadline, this.prev), accepted.socket]);
    this.prev.attach(prev);
    this.prevSocket = prev;
    this.next = next;
    this.watchDataSocket(next, nextRank);
    this.watchDataSocket(prev, prevRank);
    await this.ready(deadline);
  }

  /** Sends hello and waits for the peer table; afterwards control messages drive failure handling. */
  private handshake(dataPort: number, deadline: number): Promise<{ host: string; port: number }[]> {
    const o = this.o;
    const control = this.control!;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new RendezvousError(`rank ${o.rank}: rendezvous at ${o.masterAddr}:${o.masterPort} timed out after ${o.timeoutS} s waiting for the other ranks`)),
        Math.max(0, deadline - Date.now()) + 2000,
      );
      timer.unref();
      this.onReady = undefined;
      onControlMessages(control, (msg: ControlMessage) => {
        this.lastFromMaster = Date.now();
        switch (msg.t) {
          case 'reject':
            clearTimeout(timer);
            reject(new RendezvousError(`rank ${o.rank}: rank 0 at ${o.masterAddr}:${o.masterPort} refused to add this rank: ${msg.reason}`));
            break;
          case 'peers':
            clearTimeout(timer);
            resolve(msg.peers);
            break;
          case 'go':
            this.onReady?.();
            break;
          case 'abort':
            clearTimeout(timer);
            if (this.closing) return this.shutdownWaiter?.();
            if (msg.dead === -1) reject(new RendezvousError(`rank ${o.rank}: ${msg.reason}`));
            this.fail(msg.dead, msg.reason);
            this.onReady?.();
            reject(this.failure ?? new RendezvousError(msg.reason));
            break;
          case 'shutdown':
            this.shutdownWaiter?.();
            break;
          case 'left':
            this.peerLeft(msg.rank, msg.seq);
            break;
          default:
            break;
        }
      });
      control.on('close', () => {
        clearTimeout(timer);
        if (this.shutdownWaiter && this.closing) return this.shutdownWaiter();
        reject(new RendezvousError(`rank ${o.rank}: lost the connection to rank 0 at ${o.masterAddr}:${o.masterPort} during rendezvous`));
        this.fail(0, `rank 0 (master at ${o.masterAddr}:${o.masterPort}) died: its connection closed`);
        this.onReady?.();
      });
      control.on('error', () => undefined);
      sendControl(control, { t: 'hello', rank: o.rank, worldSize: o.worldSize, dataPort, runId: o.runId, host: hostname(), pid: process.pid });
    });
  }

  private onReady?: () => void;

  private ready(deadline: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new RendezvousError(`rank ${this.rank}: timed out connecting the ring`)), Math.max(0, deadline - Date.now()) + 2000);
      timer.unref();
      this.onReady = () => {
        clearTimeout(timer);
        if (this.failure) reject(this.failure);
        else resolve();
      };
      sendControl(this.control!, { t: 'ready' });
      this.startHeartbeat();
    });
  }

  private startHeartbeat(): void {
    const o = this.o;
    this.timers.push(
      setInterval(() => {
        sendControl(this.control!, { t: 'hb' });
        const silent = Date.now() - this.lastFromMaster;
        if (silent > o.heartbeatTimeoutS * 1000) this.fail(0, `rank 0 sent no heartbeat for ${Math.round(silent / 1000)} s (hung or unreachable)`);
      }, o.heartbeatS * 1000).unref(),
    );
  }

  private watchDataSocket(socket: Socket, peer: number): void {
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.closing || this.failure || this.departed) return;
      // Ask rank 0 to name the culprit (it sees every rank's control connection); name the neighbour if it stays silent.
      sendControl(this.control!, { t: 'suspect', rank: peer, reason: 'connection closed' });
      this.suspectTimer = setTimeout(() => this.fail(peer, `lost the connection to rank ${peer} (it died or its network failed)`), SUSPECT_GRACE_MS);
      this.suspectTimer.unref();
    });
  }

  /** Accepts the connection of rank (r+1) mod W, which introduces itself with the handshake. */
  private listenForNext(host: string): { port: Promise<number>; socket: Promise<Socket> } {
    const nextRank = (this.rank + 1) % this.worldSize;
    const server = createServer();
    this.dataServer = server;
    const port = new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: 0, host }, () => {
        const a = server.address();
        resolve(typeof a === 'object' && a ? a.port : 0);
      });
    });
    const socket = new Promise<Socket>((resolve) => {
      server.on('connection', (s) => {
        s.setNoDelay(true);
        let got = Buffer.alloc(0);
        const onData = (chunk: Buffer) => {
          got = Buffer.concat([got, chunk]);
          if (got.length < 8) return;
          s.off('data', onData);
          if (got.length !== 8 || got.readUInt32LE(0) !== HANDSHAKE_MAGIC || got.readUInt32LE(4) !== nextRank) {
            s.destroy();
            return;
          }
          server.close();
          // Nothing else arrives on this socket; keep reading so that its end is noticed.
          s.on('data', () => undefined);
          resolve(s);
        };
        s.on('data', onData);
        s.on('error', () => undefined);
      });
    });
    return { port, socket };
  }
}

const LINK_ERROR_CODES = new Set(['EPIPE', 'ECONNRESET', 'ECONNABORTED', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END', 'ERR_SOCKET_CLOSED']);

/** A socket-level error of a data link (the peer's end went away), as opposed to a protocol or program error. */
function isLinkError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && LINK_ERROR_CODES.has(code);
}

function connectData(host: string, port: number, rank: number, deadline: number, channel: RecvChannel): Promise<Socket> {
  return connectWithRetry(host, port, deadline, 0, () => undefined, channel.onread).then((s) => {
    const h = Buffer.allocUnsafe(8);
    h.writeUInt32LE(HANDSHAKE_MAGIC, 0);
    h.writeUInt32LE(rank, 4);
    s.write(h);
    return s;
  });
}

/** Connects, retrying refused/unreachable connections until `deadline` (rank 0 may start later). */
async function connectWithRetry(host: string, port: number, deadline: number, reportMs: number, report: (leftS: number) => void, onread?: OnReadOpts): Promise<Socket> {
  let lastReport = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect(onread ? { host, port, onread } : { host, port });
        s.once('connect', () => {
          s.off('error', reject);
          s.setNoDelay(true);
          resolve(s);
        });
        s.once('error', reject);
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const now = Date.now();
      if (now >= deadline) {
        throw new RendezvousError(`could not reach ${host}:${port} (${err.code ?? err.message}) before the rendezvous timeout; is rank 0 running with the same MASTER_ADDR/MASTER_PORT?`);
      }
      if (reportMs > 0 && now - lastReport >= reportMs) {
        lastReport = now;
        report(Math.round((deadline - now) / 1000));
      }
      await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** Math.min(attempt, 5))));
    }
  }
}
