/**
 * Worker-thread side of the blocking DistContext: owns the process group (sockets, heartbeats)
 * so the network keeps working while the main thread computes or blocks in Atomics.wait.
 *
 * Main -> thread (on `requests`): { id, op, ... }. Thread -> main (on `requests`): { id, ok, value } or
 * { id, error }, then `ctrl[0]` is incremented and notified. Failures also go to `parentPort`.
 */
import { writeSync } from 'node:fs';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { allGatherBlocks, allReduce, barrier, broadcastBytes, type ReduceOp } from './collectives.js';
import { ProcessGroup, type GroupOptions } from './group.js';
import type { PeerFailureError } from './errors.js';

export interface ThreadData {
  group: Omit<GroupOptions, 'onFailure' | 'log'>;
  ctrl: Int32Array;
  requests: MessagePort;
  /** After a failure the main thread gets this long to exit by itself before the thread kills the process. */
  failureKillMs: number;
}

export type ThreadRequest =
  | { id: number; op: 'allReduce'; buf: SharedArrayBuffer; byteOffset: number; length: number; reduce: ReduceOp }
  | { id: number; op: 'allGather'; data: Float32Array }
  | { id: number; op: 'broadcast'; buf: SharedArrayBuffer; byteOffset: number; byteLength: number; root: number; isRoot: boolean; known: boolean }
  | { id: number; op: 'barrier' }
  | { id: number; op: 'close' };

export type ThreadReply = { id: number; ok: true; value?: unknown } | { id: number; ok: false; error: { message: string; deadRank?: number; code?: string } };

export type ThreadEvent = { t: 'ready' } | { t: 'rendezvous-error'; message: string; code?: string } | { t: 'failure'; message: string; deadRank: number };

const data = workerData as ThreadData;
const parent = parentPort!;

function stderrLine(line: string): void {
  // Straight to fd 2: the main thread (which relays worker stdio) may be busy or blocked.
  try {
    writeSync(2, `${line}\n`);
  } catch {
    // stderr is gone (EPIPE: the launcher reading it was killed); what follows must still happen
  }
}

async function main(): Promise<void> {
  let group: ProcessGroup;
  try {
    group = await ProcessGroup.create({
      ...data.group,
      log: stderrLine,
      onFailure: (err: PeerFailureError) => {
        stderrLine(`[ssl dist] ${err.message}`);
        parent.postMessage({ t: 'failure', message: err.message, deadRank: err.deadRank } satisfies ThreadEvent);
        setTimeout(() => {
          stderrLine(`[ssl dist] rank ${data.group.rank}: exiting (the main thread did not stop within ${data.failureKillMs / 1000} s of the failure)`);
          process.kill(process.pid, 'SIGKILL');
        }, data.failureKillMs).unref();
      },
    });
  } catch (e) {
    const err = e as Error & { code?: string };
    parent.postMessage({ t: 'rendezvous-error', message: err.message, code: err.code } satisfies ThreadEvent);
    return;
  }
  const reply = (msg: ThreadReply, transfer: ArrayBuffer[] = []) => {
    data.requests.postMessage(msg, transfer);
    Atomics.add(data.ctrl, 0, 1);
    Atomics.notify(data.ctrl, 0);
  };
  data.requests.on('message', async (req: ThreadRequest) => {
    try {
      switch (req.op) {
        case 'allReduce':
          await allReduce(group, new Float32Array(req.buf, req.byteOffset, req.length), req.reduce);
          return reply({ id: req.id, ok: true });
        case 'allGather': {
          const blocks = await allGatherBlocks(group, req.data);
          const owned = blocks.map((b) => (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice()));
          return reply({ id: req.id, ok: true, value: owned }, owned.map((b) => b.buffer as ArrayBuffer));
        }
        case 'broadcast': {
          const view = new Uint8Array(req.buf, req.byteOffset, req.byteLength);
          if (req.isRoot || req.known) {
            await broadcastBytes(group, view, req.root);
            return reply({ id: req.id, ok: true });
          }
          const got = await broadcastBytes(group, undefined, req.root);
          return reply({ id: req.id, ok: true, value: got }, [got.buffer as ArrayBuffer]);
        }
        case 'barrier':
          await barrier(group);
          return reply({ id: req.id, ok: true });
        case 'close':
          await group.close();
          reply({ id: req.id, ok: true });
          data.requests.close();
          return;
      }
    } catch (e) {
      const err = e as Error & { deadRank?: number; code?: string };
      reply({ id: req.id, ok: false, error: { message: err.message, deadRank: err.deadRank, code: err.code } });
    }
  });
  watchSupervisor();
  parent.postMessage({ t: 'ready' } satisfies ThreadEvent);
}

/** A worker whose launcher/agent (SSL_PARENT_PID) is gone exits: no rank outlives a killed launcher. */
function watchSupervisor(): void {
  const supervisor = Number(process.env.SSL_PARENT_PID);
  if (!supervisor) return;
  setInterval(() => {
    if (process.ppid !== supervisor) {
      stderrLine(`[ssl dist] rank ${data.group.rank}: the launcher (pid ${supervisor}) is gone; exiting`);
      process.kill(process.pid, 'SIGKILL');
    }
  }, 1000).unref();
}

process.on('uncaughtException', (err) => {
  stderrLine(`[ssl dist] rank ${data.group.rank}: the dist thread crashed: ${err.stack ?? err.message}`);
  process.kill(process.pid, 'SIGKILL');
});

void main();
