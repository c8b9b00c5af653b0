import { join } from 'node:path';
import { compileForChildren, freePort, REPO, runNode, type Finished } from './helpers.js';

const SCRIPT = join(REPO, 'test', 'dist', 'fixtures', 'swav-rank.mjs');
type Out = { rank: number; worldSize: number; q: number[]; qLocal: number[]; qZero: number[]; scores: number[]; zeroScores: number[] };
const K = 5;

function parse(f: Finished): Out {
  const line = f.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (f.code !== 0 || !line) throw new Error(`exit ${f.code}:\n${f.stderr}`);
  return JSON.parse(line.slice(7)) as Out;
}

/**
 * MMSelfSup 0.x's distributed_sinkhorn (mmselfsup/utils/distributed_sinkhorn.py) over the ranks' score
 * blocks `[n][K]` in lock step, each dist.all_reduce a sum over the blocks; exp in float32 as PyTorch's.
 * Returns each rank's codes `[n·K]`.
 */
function mmselfsupSinkhorn(blocks: number[][][], iterations: number, epsilon: number): number[][] {
  const world = blocks.length;
  const b = blocks[0].length * world;
  let q = blocks.map((rows) => Array.from({ length: K }, (_, k) => rows.map((r) => Math.fround(Math.exp(Math.fround(r[k] / epsilon))))));
  const sumQ = q.flat(2).reduce((a, v) => a + v, 0); // dist.all_reduce(sum_Q)
  q = q.map((m) => m.map((row) => row.map((v) => v / sumQ)));
  for (let it = 0; it < iterations; it++) {
    let u = q.map((m) => m.map((row) => row.reduce((a, v) => a + v, 0)));
    // every rank has the zero row here, so every rank takes the branch and its all_reduce(u)
    if (u.some((ur) => ur.includes(0))) {
      q = q.map((m) => m.map((row) => row.map((v) => v + 1e-12)));
      const local = q.map((m) => m.map((row) => row.reduce((a, v) => a + v, 0)));
      const global = local[0].map((_, k) => local.reduce((a, l) => a + l[k], 0));
      u = local.map(() => global);
    }
    q = q.map((m, r) => m.map((row, k) => row.map((v) => v / u[r][k] / K)));
    q = q.map((m) => {
      const cols = m[0].map((_, i) => m.reduce((a, row) => a + row[i], 0));
      return m.map((row) => row.map((v, i) => v / cols[i] / b));
    });
  }
  return q.map((m) => m[0].flatMap((_, i) => m.map((row) => row[i] * b)));
}

const rowsOf = (flat: number[]) => Array.from({ length: flat.length / K }, (_, i) => flat.slice(i * K, (i + 1) * K));
const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));

test("SwAV's distributed_sinkhorn across 2 ranks is MMSelfSup's: sum(Q) all-reduced, rows normalised per rank unless a row sums to 0", async () => {
  const lib = compileForChildren(['src']);
  const port = await freePort();
  const ranks = [0, 1].map((r) =>
    runNode(SCRIPT, [lib], { RANK: String(r), WORLD_SIZE: '2', LOCAL_RANK: String(r), LOCAL_WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) }).done,
  );
  const single = runNode(SCRIPT, [lib], { RANK: '', WORLD_SIZE: '', LOCAL_RANK: '', LOCAL_WORLD_SIZE: '' }).done;
  const [r0, r1, one] = (await Promise.all([...ranks, single])).map(parse);
  expect([one.worldSize, r0.worldSize, r1.worldSize]).toEqual([1, 2, 2]);
  // ordinary scores: MMSelfSup all-reduces only sum(Q), a factor the row and column steps divide out, so each
  // rank's codes are those of its half alone (facebookresearch/swav's all-reduced row sums would give the
  // whole batch's codes instead, which differ)
  for (const r of [r0, r1]) expect(maxDiff(r.q, r.qLocal)).toBeLessThan(1e-6);
  const reference = mmselfsupSinkhorn([rowsOf(r0.scores), rowsOf(r1.scores)], 3, 0.05);
  expect(maxDiff([...r0.q, ...r1.q], reference.flat())).toBeLessThan(1e-5);
  expect(maxDiff([...r0.q, ...r1.q], one.q)).toBeGreaterThan(1e-2);
  // a prototype whose exp underflows for every sample: 1e-12 is added and that iteration's row sums are all-reduced
  const zero = mmselfsupSinkhorn([rowsOf(r0.zeroScores), rowsOf(r1.zeroScores)], 3, 0.05);
  const got = [...r0.qZero, ...r1.qZero];
  expect(got.every(Number.isFinite)).toBe(true);
  expect(maxDiff(got, zero.flat())).toBeLessThan(1e-5);
  // the single process takes the same branch without the all-reduce
  expect(maxDiff(one.qZero, mmselfsupSinkhorn([rowsOf(one.zeroScores)], 3, 0.05).flat())).toBeLessThan(1e-5);
}, 120_000);
