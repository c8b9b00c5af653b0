import { encodeHeader, Op, sendFrame, type FrameSink } from './channel.js';
import type { ProcessGroup } from './group.js';

/**
 * Ring collectives on a {@link ProcessGroup}. Every rank must call the same collectives in the
 * same order with the same sizes (checked per frame). All run in (W-1) or 2(W-1) steps in which
 * each rank sends to rank+1 and receives from rank-1 at the same time.
 */

export type ReduceOp = 'sum' | 'mean' | 'max';

const staging = new WeakMap<ProcessGroup, Float32Array>();

function stagingFor(g: ProcessGroup, floats: number): Float32Array {
  let s = staging.get(g);
  if (!s || s.length < floats) {
    s = new Float32Array(floats);
    staging.set(g, s);
  }
  return s;
}

async function guarded<T>(g: ProcessGroup, body: () => Promise<T>): Promise<T> {
  g.check();
  try {
    return await body();
  } catch (e) {
    throw g.explain(e);
  }
}

function bytesOf(a: Float32Array, start = 0, end = a.length): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset + start * 4, (end - start) * 4);
}

/** Segment i of n floats split in W near-equal parts: [start, end). */
export function segment(n: number, w: number, i: number): [number, number] {
  const base = Math.floor(n / w);
  const rem = n % w;
  const start = i * base + Math.min(i, rem);
  return [start, start + base + (i < rem ? 1 : 0)];
}

/**
 * Reduces `src` into `dst` (sum, or max with NaN propagation). Done after a segment has fully
 * arrived rather than per socket chunk: reducing while bytes stream in stalls both ranks' socket
 * buffers in turn (measured ~2x slower on loopback).
 */
function reduceInto(dst: Float32Array, src: Float32Array, max: boolean): void {
  const n = dst.length;
  if (max) {
    for (let i = 0; i < n; i++) if (src[i] > dst[i] || Number.isNaN(src[i])) dst[i] = src[i];
  } else {
    for (let i = 0; i < n; i++) dst[i] += src[i];
  }
}

function copySink(dst: Uint8Array, expectLen: number | undefined, what: string, who: number): FrameSink {
  let off = 0;
  return {
    onHeader(len) {
      if (expectLen !== undefined && len !== expectLen) throw new Error(`${what} size mismatch: rank ${who} sent ${len} bytes, this rank expects ${expectLen}`);
    },
    onData(piece) {
      dst.set(piece, off);
      off += piece.length;
    },
  };
}

/** In-place ring all-reduce (reduce-scatter then all-gather) of float32 data (sum, mean or max); returns `data`. */
export function allReduce(g: ProcessGroup, data: Float32Array, op: ReduceOp = 'sum'): Promise<Float32Array> {
  return guarded(g, async () => {
    const w = g.worldSize;
    const seq = g.nextSeq();
    if (w === 1) return data;
    const r = g.rank;
    const prevRank = (r - 1 + w) % w;
    const n = data.length;
    const stage = stagingFor(g, Math.ceil(n / w));
    for (let s = 0; s < w - 1; s++) {
      const [ss, se] = segment(n, w, (r - s + w) % w);
      const [rs, re] = segment(n, w, (r - s - 1 + 2 * w) % w);
      const incoming = stage.subarray(0, re - rs);
      await Promise.all([
        sendFrame(g.next!, Op.allReduce, seq, bytesOf(data, ss, se)),
        g.prev!.recv(Op.allReduce, seq, copySink(bytesOf(incoming), (re - rs) * 4, 'allReduce', prevRank)),
      ]);
      reduceInto(data.subarray(rs, re), incoming, op === 'max');
    }
    for (let s = 0; s < w - 1; s++) {
      const [ss, se] = segment(n, w, (r + 1 - s + w) % w);
      const [rs, re] = segment(n, w, (r - s + w) % w);
      await Promise.all([
        sendFrame(g.next!, Op.allReduce, seq, bytesOf(data, ss, se)),
        g.prev!.recv(Op.allReduce, seq, copySink(bytesOf(data, rs, re), (re - rs) * 4, 'allReduce', prevRank)),
      ]);
    }
    if (op === 'mean') for (let i = 0; i < n; i++) data[i] /= w;
    return data;
  });
}

/**
 * Broadcast of bytes from `root` along the ring (each rank forwards pieces as they arrive).
 * Non-roots pass `undefined` to receive a new array of whatever size root sends, or an array
 * of the expected size to receive in place. Returns the root's bytes on every rank.
 */
export function broadcastBytes(g: ProcessGroup, bytes: Uint8Array | undefined, root = 0): Promise<Uint8Array> {
  return guarded(g, async () => {
    const w = g.worldSize;
    const seq = g.nextSeq();
    if (root < 0 || root >= w) throw new RangeError(`broadcast root ${root} is outside 0..${w - 1}`);
    if (w === 1) return bytes ?? new Uint8Array(0);
    const r = g.rank;
    const forward = (r + 1) % w !== root;
    if (r === root) {
      if (!bytes) throw new Error('broadcast: the root rank must pass the data');
      await sendFrame(g.next!, Op.broadcast, seq, bytes);
      return bytes;
    }
    let out = bytes;
    let off = 0;
    let lastWrite: Promise<void> = Promise.resolve();
    const next = g.next!;
    const write = (buf: Buffer) =>
      (lastWrite = new Promise<void>((resolve, reject) => {
        next.write(buf, (err) => (err ? reject(err) : resolve()));
      }));
    await g.prev!.recv(Op.broadcast, seq, {
      onHeader(len) {
        if (out && out.byteLength !== len) throw new Error(`broadcast size mismatch: rank ${root} sent ${len} bytes, this rank expects ${out.byteLength}`);
        out ??= new Uint8Array(len);
        if (forward) write(encodeHeader(Op.broadcast, seq, len));
      },
      onData(piece) {
        out!.set(piece, off);
        off += piece.length;
        if (forward) write(piece);
      },
    });
    await lastWrite;
    return out!;
  });
}

/** In-place broadcast of float32 data from `root` (every rank passes an array of the same length). */
export async function broadcast(g: ProcessGroup, data: Float32Array, root = 0): Promise<Float32Array> {
  await broadcastBytes(g, bytesOf(data), root);
  return data;
}

async function ringGather(g: ProcessGroup, own: Uint8Array, op: number): Promise<Uint8Array[]> {
  const w = g.worldSize;
  const seq = g.nextSeq();
  const r = g.rank;
  const blocks: Uint8Array[] = new Array(w);
  blocks[r] = own;
  if (w === 1) return blocks;
  for (let s = 0; s < w - 1; s++) {
    const sendIdx = (r - s + w) % w;
    const recvIdx = (r - s - 1 + w) % w;
    let block: Uint8Array | undefined;
    let off = 0;
    await Promise.all([
      sendFrame(g.next!, op, seq, blocks[sendIdx]),
      g.prev!.recv(op, seq, {
        onHeader(len) {
          block = new Uint8Array(len);
        },
        onData(piece) {
          block!.set(piece, off);
          off += piece.length;
        },
      }),
    ]);
    blocks[recvIdx] = block!;
  }
  return blocks;
}

/** All-gather of byte blocks (sizes may differ per rank); returns blocks in rank order. */
export function allGatherBytes(g: ProcessGroup, own: Uint8Array): Promise<Uint8Array[]> {
  return guarded(g, () => ringGather(g, own, Op.allGather));
}

/** All-gather of float32 blocks in rank order (sizes may differ); see {@link allGather} for the concatenation. */
export async function allGatherBlocks(g: ProcessGroup, data: Float32Array): Promise<Float32Array[]> {
  const blocks = await allGatherBytes(g, bytesOf(data));
  return blocks.map((b, i) => (i === g.rank ? data : new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4)));
}

/** All-gather concatenated in rank order: `[rank0's data, rank1's data, ...]`. */
export async function allGather(g: ProcessGroup, data: Float32Array): Promise<Float32Array> {
  return concatBlocks(await allGatherBlocks(g, data));
}

/** Blocks concatenated in order into one new array. */
export function concatBlocks(blocks: Float32Array[]): Float32Array {
  const out = new Float32Array(blocks.reduce((n, b) => n + b.length, 0));
  let off = 0;
  for (const b of blocks) {
    out.set(b, off);
    off += b.length;
  }
  return out;
}

/** Returns once every rank has called barrier. */
export async function barrier(g: ProcessGroup): Promise<void> {
  await guarded(g, () => ringGather(g, new Uint8Array(0), Op.barrier));
}
