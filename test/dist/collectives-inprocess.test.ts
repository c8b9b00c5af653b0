import { allGather, allGatherBlocks, allReduce, barrier, broadcast, broadcastBytes } from '../../src/dist/transport/collectives.js';
import { ProcessGroup } from '../../src/dist/transport/group.js';
import { PeerFailureError } from '../../src/dist/transport/errors.js';
import { freePort } from './helpers.js';

/** Exact element-wise equality (jest's toEqual is slow on large typed arrays). */
function expectSame(a: Float32Array, b: Float32Array): void {
  expect(a.length).toBe(b.length);
  let firstDiff = -1;
  for (let i = 0; i < a.length && firstDiff < 0; i++) if (a[i] !== b[i]) firstDiff = i;
  expect(firstDiff === -1 ? 'same' : `differs at ${firstDiff}: ${a[firstDiff]} vs ${b[firstDiff]}`).toBe('same');
}

async function makeGroups(w: number): Promise<ProcessGroup[]> {
  const port = await freePort();
  const logs: string[] = [];
  return Promise.all(
    [...Array(w).keys()].map((rank) => ProcessGroup.create({ rank, worldSize: w, masterAddr: '127.0.0.1', masterPort: port, timeoutS: 20, runId: 't', log: (l) => logs.push(l) })),
  );
}

function data(rank: number, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = ((rank + 1) * 1000 + i) % 977;
  return a;
}

describe.each([2, 3])('ring collectives in one process, world size %i', (w) => {
  let groups: ProcessGroup[];
  beforeAll(async () => {
    groups = await makeGroups(w);
  });
  afterAll(async () => {
    await Promise.all(groups.map((g) => barrier(g)));
    await Promise.all(groups.map((g) => g.close()));
  });

  it.each([1, 2, 7, 1000, 300_001, 1_300_007])('all-reduce sum and mean of %i floats are exact', async (n) => {
    const inputs = groups.map((g) => data(g.rank, n));
    const expected = new Float32Array(n);
    for (const a of inputs) for (let i = 0; i < n; i++) expected[i] += a[i];
    const sums = await Promise.all(groups.map((g, i) => allReduce(g, inputs[i].slice(), 'sum')));
    for (const s of sums) expectSame(s, expected);
    const means = await Promise.all(groups.map((g, i) => allReduce(g, inputs[i].slice(), 'mean')));
    for (const m of means) expectSame(m, expected.map((x) => x / w));
  });

  it('all-reduce of the same array again and again: no chunk is overwritten before it is sent', async () => {
    const n = 2_000_003;
    const arrays = groups.map(() => new Float32Array(n).fill(1));
    for (let k = 1; k <= 6; k++) {
      await Promise.all(groups.map((g, i) => allReduce(g, arrays[i], 'sum')));
      for (const a of arrays) expectSame(a, new Float32Array(n).fill(w ** k));
    }
  });

  it('frames that arrive before their receive is posted are read into the right place', async () => {
    // Root 0 sends three broadcasts (empty, 4 bytes, 1 MB) at once; the others post their receives
    // only later, so each frame's header waits with reading paused and the payload must still land in full.
    const sizes = [0, 4, 1 << 20];
    const sent = sizes.map((n) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) % 251));
    const roots = sent.map((b) => broadcastBytes(groups[0], b, 0));
    const receiveLate = async (g: ProcessGroup) => {
      const got: Uint8Array[] = [];
      for (const n of sizes) {
        await new Promise((r) => setTimeout(r, 100));
        got.push(await broadcastBytes(g, n === 4 ? new Uint8Array(4) : undefined, 0));
      }
      return got;
    };
    const received = await Promise.all(groups.slice(1).map(receiveLate));
    await Promise.all(roots);
    for (const perRank of received) for (let k = 0; k < sizes.length; k++) expect(Buffer.compare(Buffer.from(perRank[k]), Buffer.from(sent[k]))).toBe(0);
  });

  it('broadcast from every root, in place and as bytes of unknown size', async () => {
    for (let root = 0; root < w; root++) {
      const arrays = groups.map((g) => data(g.rank, 5000));
      await Promise.all(groups.map((g, i) => broadcast(g, arrays[i], root)));
      for (const a of arrays) expect(a).toEqual(data(root, 5000));
      const msg = new TextEncoder().encode(`seed from ${root}`);
      const got = await Promise.all(groups.map((g) => broadcastBytes(g, g.rank === root ? msg : undefined, root)));
      for (const b of got) expect(new TextDecoder().decode(b)).toBe(`seed from ${root}`);
    }
  });

  it('all-gather concatenates in rank order, sizes may differ', async () => {
    const got = await Promise.all(groups.map((g) => allGather(g, data(g.rank, 10 + g.rank))));
    const expected = Float32Array.from(groups.flatMap((g) => [...data(g.rank, 10 + g.rank)]));
    for (const x of got) expect(x).toEqual(expected);
    const blocks = await Promise.all(groups.map((g) => allGatherBlocks(g, data(g.rank, 3))));
    expect(blocks[0].map((b) => b.length)).toEqual(groups.map(() => 3));
  });

});

describe('protocol errors', () => {
  it('a size mismatch fails the whole group on every rank with the reason', async () => {
    const groups = await makeGroups(2);
    const results = await Promise.allSettled(groups.map((g) => allReduce(g, new Float32Array(g.rank === 0 ? 10 : 12))));
    for (const r of results) expect(r.status).toBe('rejected');
    await new Promise((r) => setTimeout(r, 300));
    for (const g of groups) expect(String(g.failed)).toMatch(/size mismatch/);
    await expect(barrier(groups[0])).rejects.toThrow(/size mismatch/);
  });
});

describe('a broken link', () => {
  it.each([
    ['allReduce', (g: ProcessGroup) => allReduce(g, new Float32Array(1 << 10))],
    ['barrier', (g: ProcessGroup) => barrier(g)],
  ])('%s: a send that fails on a dead peer\'s socket (EPIPE) before the notice of its death arrives names the dead rank', async (_name, collective) => {
    const groups = await makeGroups(3);
    const destroy = (g: ProcessGroup) => (g as unknown as { destroy(): void }).destroy();
    try {
      // What a SIGKILLed rank 2 looks like from rank 1 when the kernel answers its send first: the
      // write fails with EPIPE, and the notice that rank 2's process is gone comes a moment later.
      const next = groups[1].next!;
      next.write = ((_chunk: unknown, cb?: (err?: Error) => void) => {
        if (cb) {
          setImmediate(() => cb(Object.assign(new Error('This socket has been ended by the other party'), { code: 'EPIPE' })));
          setTimeout(() => destroy(groups[2]), 100);
        }
        return true;
      }) as typeof next.write;
      const err = await collective(groups[1]).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err).toBeInstanceOf(PeerFailureError);
      expect((err as PeerFailureError).deadRank).toBe(2);
      expect(err!.message).toMatch(/rank 2 \(pid \d+ on [^)]*\) died/);
    } finally {
      groups.forEach(destroy);
    }
  });
});
