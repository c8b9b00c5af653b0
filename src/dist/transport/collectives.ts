import { concatFloat32 } from '../../engine/concat-float32.js';
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
    throw await g.explainLinkError(e);
  }
}

/**
 * A send that is awaited later, after receives: if the link breaks, the receive usually fails first
 * (with the group's failure, naming the dead rank) and this send's rejection would go unhandled and
 * crash the process with a bare socket error. Marked handled here; awaiting it still rejects.
 */
function awaitedLater<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
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

/** Frames of an all-reduce carry at most this many floats, so that one chunk is reduced while the next arrives. */
export const ALL_REDUCE_CHUNK_FLOATS = 1 << 18;

/**
 * dst = (dst + src) / div (sum, mean) or max(dst, src) with NaN propagation. The sum loops are
 * unrolled by 4: 0.61 vs 0.95 ns per float here (V8 keeps the four adds in flight), and this loop is
 * a quarter of a large all-reduce's time.
 */
function reduceInto(dst: Float32Array, src: Float32Array, op: ReduceOp, div: number): void {
  const n = dst.length;
  const n4 = n - (n % 4);
  if (op === 'max') {
    for (let i = 0; i < n; i++) if (src[i] > dst[i] || Number.isNaN(src[i])) dst[i] = src[i];
  } else if (div === 1) {
    for (let i = 0; i < n4; i += 4) {
      dst[i] += src[i];
      dst[i + 1] += src[i + 1];
      dst[i + 2] += src[i + 2];
      dst[i + 3] += src[i + 3];
    }
    for (let i = n4; i < n; i++) dst[i] += src[i];
  } else {
    for (let i = 0; i < n4; i += 4) {
      dst[i] = (dst[i] + src[i]) / div;
      dst[i + 1] = (dst[i + 1] + src[i + 1]) / div;
      dst[i + 2] = (dst[i + 2] + src[i + 2]) / div;
      dst[i + 3] = (dst[i + 3] + src[i + 3]) / div;
    }
    for (let i = n4; i < n; i++) dst[i] = (dst[i] + src[i]) / div;
  }
}

function expectSink(dst: Uint8Array, what: string, who: number): FrameSink {
  return {
    target(len) {
      if (len !== dst.length) throw new Error(`${what} size mismatch: rank ${who} sent ${len} bytes, this rank expects ${dst.length}`);
      return dst;
    },
  };
}

/**
 * In-place ring all-reduce (reduce-scatter then all-gather) of float32 data (sum, mean or max);
 * returns `data`. Pipelined: the 2(W-1) ring steps each forward what the step before received,
 * chunk by chunk, so a chunk goes on to the next rank as soon as it is reduced (no idle link while
 * a whole segment is reduced, no wait between the two phases). The mean's division happens in the
 * last reduction step, not in a pass of its own.
 */
export function allReduce(g: ProcessGroup, data: Float32Array, op: ReduceOp = 'sum'): Promise<Float32Array> {
  return guarded(g, async () => {
    const w = g.worldSize;
    const seq = g.nextSeq();
    if (w === 1) return data;
    const r = g.rank;
    const prevRank = (r - 1 + w) % w;
    const n = data.length;
    const steps = 2 * (w - 1);
    // Step t sends segment (r - t) and receives segment (r - t - 1) (mod W) during the reduce-scatter
    // (t < W-1); during the all-gather it sends (r + 1 - s) and receives (r - s), s = t - (W-1).
    const sendSeg = (t: number) => segment(n, w, (((t < w - 1 ? r - t : r + 1 - (t - w + 1)) % w) + w) % w);
    const recvSeg = (t: number) => segment(n, w, (((t < w - 1 ? r - t - 1 : r - (t - w + 1)) % w) + w) % w);
    // An empty segment (fewer floats than ranks) still travels as one empty frame, on both sides.
    const chunksOf = ([a, b]: [number, number]): [number, number][] => {
      if (a === b) return [[a, b]];
      const out: [number, number][] = [];
      for (let c = a; c < b; c += ALL_REDUCE_CHUNK_FLOATS) out.push([c, Math.min(b, c + ALL_REDUCE_CHUNK_FLOATS)]);
      return out;
    };
    const stage = stagingFor(g, Math.min(ALL_REDUCE_CHUNK_FLOATS, Math.ceil(n / w)));
    const sends: Promise<void>[] = chunksOf(sendSeg(0)).map(([a, b]) => awaitedLater(sendFrame(g.next!, Op.allReduce, seq, bytesOf(data, a, b))));
    for (let t = 0; t < steps; t++) {
      const reducing = t < w - 1;
      const div = op === 'mean' && t === w - 2 ? w : 1;
      for (const [a, b] of chunksOf(recvSeg(t))) {
        const into = reducing ? stage.subarray(0, b - a) : data.subarray(a, b);
        await g.prev!.recv(Op.allReduce, seq, expectSink(bytesOf(into), 'allReduce', prevRank));
        if (reducing) reduceInto(data.subarray(a, b), into, op, div);
        // What step t received is what step t+1 sends on (the segments line up by construction).
        if (t + 1 < steps) sends.push(awaitedLater(sendFrame(g.next!, Op.allReduce, seq, bytesOf(data, a, b))));
      }
    }
    await Promise.all(sends);
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
    let lastWrite: Promise<void> = Promise.resolve();
    const next = g.next!;
    const write = (buf: Buffer) =>
      (lastWrite = awaitedLater(
        new Promise<void>((resolve, reject) => {
          next.write(buf, (err) => (err ? reject(err) : resolve()));
        }),
      ));
    await g.prev!.recv(Op.broadcast, seq, {
      target(len) {
        if (out && out.byteLength !== len) throw new Error(`broadcast size mismatch: rank ${root} sent ${len} bytes, this rank expects ${out.byteLength}`);
        out ??= new Uint8Array(len);
        if (forward) write(encodeHeader(Op.broadcast, seq, len));
        return out;
      },
      onData(filled) {
        // Forwarded as it arrives; `out` is not written again, so the view may be sent without a copy.
        if (forward) write(Buffer.from(filled.buffer, filled.byteOffset, filled.byteLength));
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
    await Promise.all([
      sendFrame(g.next!, op, seq, blocks[sendIdx]),
      g.prev!.recv(op, seq, { target: (len) => (block = new Uint8Array(len)) }),
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
export const concatBlocks = concatFloat32;

/** Returns once every rank has called barrier. */
export async function barrier(g: ProcessGroup): Promise<void> {
  await guarded(g, () => ringGather(g, new Uint8Array(0), Op.barrier));
}
