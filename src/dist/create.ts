import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { singleProcessContext, type DistContext, type ReduceOp } from './context.js';
import { readDistEnv, DEFAULT_TIMEOUT_S, type DistEnv, type DistEnvDefaults } from './env.js';
import { concatBlocks } from './transport/collectives.js';
import { PeerFailureError, RendezvousError } from './transport/errors.js';
import type { ThreadData, ThreadEvent, ThreadReply, ThreadRequest } from './transport/thread.js';

export interface CreateDistOptions {
  /** Place in the job; default `readDistEnv(process.env, {port})`. */
  env?: DistEnv;
  /** `--port` / `dist_params.port`, used when the environment sets no MASTER_PORT. */
  port?: number;
  /** Rendezvous timeout in seconds (`dist_params.timeout`, default 300). */
  timeoutS?: number;
  /** A peer silent this long counts as dead (default 20 s). */
  heartbeatTimeoutS?: number;
  /** Same for every rank of a job (default env SSL_RUN_ID / TORCHELASTIC_RUN_ID). */
  runId?: string;
  /**
   * Called on the main thread when a peer dies while this thread is not inside a collective.
   * Default: print the reason and `process.exit(1)`. If the main thread stays busy, the process
   * is killed after `failureKillS` (default 10 s) so that no rank outlives a broken job.
   */
  onFailure?: (err: PeerFailureError) => void;
  failureKillS?: number;
}

/**
 * Joins the job this process belongs to (rendezvous at MASTER_ADDR:MASTER_PORT) and returns its
 * {@link DistContext}. With world size 1 no thread or socket is created.
 * Throws RendezvousError (port in use, timeout with the missing ranks, world size mismatch).
 */
export async function joinJob(options: CreateDistOptions = {}): Promise<DistContext> {
  const defaults: DistEnvDefaults = options.port === undefined ? {} : { port: options.port };
  const env = options.env ?? readDistEnv(process.env, defaults);
  if (env.worldSize === 1) return singleProcessContext(env);
  return ThreadedDistContext.start(env, options);
}

function threadEntry(): URL {
  const here = new URL('./transport/thread.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  // Running from TypeScript sources (tests): use the compiled copy.
  const compiled = new URL('../../lib/src/dist/transport/thread.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return compiled;
  throw new Error(`cannot find the dist transport thread (${fileURLToPath(here)}); run npm run build`);
}

class ThreadedDistContext implements DistContext {
  readonly rank: number;
  readonly worldSize: number;
  readonly localRank: number;
  readonly localWorldSize: number;
  private nextId = 1;
  private shared = new SharedArrayBuffer(1 << 16);
  private failure?: PeerFailureError;
  private closed = false;
  /** SSL_DIST_PROFILE=1: calls and ms blocked per collective, printed to stderr at close(). */
  private readonly profile = process.env.SSL_DIST_PROFILE === '1' ? new Map<string, { n: number; ms: number; bytes: number }>() : undefined;

  private constructor(
    readonly env: DistEnv,
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly ctrl: Int32Array,
  ) {
    this.rank = env.rank;
    this.worldSize = env.worldSize;
    this.localRank = env.localRank;
    this.localWorldSize = env.localWorldSize;
  }

  static async start(env: DistEnv, o: CreateDistOptions): Promise<ThreadedDistContext> {
    const ctrl = new Int32Array(new SharedArrayBuffer(8));
    const { port1, port2 } = new MessageChannel();
    const data: ThreadData = {
      group: {
        rank: env.rank,
        worldSize: env.worldSize,
        masterAddr: env.masterAddr,
        masterPort: env.masterPort,
        timeoutS: o.timeoutS ?? DEFAULT_TIMEOUT_S,
        heartbeatTimeoutS: o.heartbeatTimeoutS ?? 20,
        ...(o.runId === undefined ? {} : { runId: o.runId }),
      },
      ctrl,
      requests: port2,
      failureKillMs: (o.failureKillS ?? 10) * 1000,
    };
    const worker = new Worker(threadEntry(), { workerData: data, transferList: [port2] });
    const ctx = new ThreadedDistContext(env, worker, port1, ctrl);
    await new Promise<void>((resolve, reject) => {
      worker.on('error', (err) => {
        reject(err);
        ctx.onThreadFailure(new PeerFailureError(-1, `rank ${env.rank}: the dist thread crashed: ${err.message}`), o);
      });
      worker.on('message', (ev: ThreadEvent) => {
        if (ev.t === 'ready') resolve();
        else if (ev.t === 'rendezvous-error') {
          void worker.terminate();
          reject(new RendezvousError(ev.message));
        } else if (ev.t === 'failure') ctx.onThreadFailure(new PeerFailureError(ev.deadRank, ev.message), o);
      });
    });
    // From here on the thread must not keep the process alive on its own.
    worker.unref();
    port1.unref();
    return ctx;
  }

  private onThreadFailure(err: PeerFailureError, o: CreateDistOptions): void {
    if (this.failure || this.closed) return;
    this.failure = err;
    if (o.onFailure) return o.onFailure(err);
    // The dist thread has already printed the reason.
    process.exit(1);
  }

  /** Sends a request and blocks until its reply. */
  private call(req: ThreadRequest, transfer: ArrayBuffer[] = []): unknown {
    if (!this.profile) return this.callBlocking(req, transfer);
    const t0 = performance.now();
    try {
      return this.callBlocking(req, transfer);
    } finally {
      const r = req as { op: string; length?: number; byteLength?: number; data?: Float32Array };
      const bytes = r.length !== undefined ? r.length * 4 : r.byteLength ?? r.data?.byteLength ?? 0;
      const key = `${r.op}${r.op === 'allReduce' ? `(${bytes < 4096 ? '<4KB' : '>=4KB'})` : ''}`;
      const e = this.profile.get(key) ?? { n: 0, ms: 0, bytes: 0 };
      this.profile.set(key, { n: e.n + 1, ms: e.ms + performance.now() - t0, bytes: e.bytes + bytes });
    }
  }

  private callBlocking(req: ThreadRequest, transfer: ArrayBuffer[]): unknown {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error('the DistContext was closed');
    const before = Atomics.load(this.ctrl, 0);
    this.port.postMessage(req, transfer);
    let seen = before;
    for (;;) {
      const got = receiveMessageOnPort(this.port);
      if (got) {
        const reply = got.message as ThreadReply;
        if (reply.id !== req.id) continue;
        if (reply.ok) return reply.value;
        const e = reply.error;
        throw e.deadRank !== undefined || e.code === 'DIST_PEER_FAILURE' ? new PeerFailureError(e.deadRank ?? -1, e.message) : new Error(e.message);
      }
      // Wake on each reply (or every second to notice a dead thread).
      Atomics.wait(this.ctrl, 0, seen, 1000);
      seen = Atomics.load(this.ctrl, 0);
      if (this.worker.threadId < 0) throw this.failure ?? new PeerFailureError(-1, `rank ${this.rank}: the dist thread has stopped`);
    }
  }

  /** A shared view holding `data`'s bytes (no copy when `data` already lives in shared memory). */
  private toShared(bytes: Uint8Array): Uint8Array {
    if (bytes.buffer instanceof SharedArrayBuffer) return bytes;
    if (this.shared.byteLength < bytes.byteLength) this.shared = new SharedArrayBuffer(Math.max(bytes.byteLength, this.shared.byteLength * 2));
    const view = new Uint8Array(this.shared, 0, bytes.byteLength);
    view.set(bytes);
    return view;
  }

  allocate(length: number): Float32Array {
    return new Float32Array(new SharedArrayBuffer(length * 4));
  }

  allReduce(data: Float32Array, op: ReduceOp = 'sum'): Float32Array {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const shared = this.toShared(bytes);
    this.call({ id: this.nextId++, op: 'allReduce', buf: shared.buffer as SharedArrayBuffer, byteOffset: shared.byteOffset, length: data.length, reduce: op });
    if (shared !== bytes) bytes.set(shared);
    return data;
  }

  allGatherBlocks(data: Float32Array): Float32Array[] {
    const compact = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && !(data.buffer instanceof SharedArrayBuffer) ? data : data.slice();
    return this.call({ id: this.nextId++, op: 'allGather', data: compact }) as Float32Array[];
  }

  allGather(data: Float32Array): Float32Array {
    return concatBlocks(this.allGatherBlocks(data));
  }

  broadcast(data: Float32Array, root = 0): Float32Array {
    this.broadcastBytes(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), root);
    return data;
  }

  broadcastBytes(data: Uint8Array | undefined, root = 0): Uint8Array {
    const isRoot = this.rank === root;
    if (isRoot && !data) throw new Error('broadcast: the root rank must pass the data');
    if (!data) {
      const empty = new SharedArrayBuffer(0);
      return this.call({ id: this.nextId++, op: 'broadcast', buf: empty, byteOffset: 0, byteLength: 0, root, isRoot, known: false }) as Uint8Array;
    }
    const shared = this.toShared(data);
    this.call({ id: this.nextId++, op: 'broadcast', buf: shared.buffer as SharedArrayBuffer, byteOffset: shared.byteOffset, byteLength: shared.byteLength, root, isRoot, known: true });
    if (shared !== data) data.set(shared);
    return data;
  }

  barrier(): void {
    this.call({ id: this.nextId++, op: 'barrier' });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.profile) {
      const rows = [...this.profile].map(([op, e]) => `${op} x${e.n}: ${e.ms.toFixed(1)} ms, ${(e.bytes / 1e6).toFixed(2)} MB`);
      process.stderr.write(`[ssl dist] rank ${this.rank} blocked in collectives: ${rows.join('; ')}\n`);
    }
    if (!this.failure) this.call({ id: this.nextId++, op: 'close' });
    this.closed = true;
    await this.worker.terminate();
  }
}
