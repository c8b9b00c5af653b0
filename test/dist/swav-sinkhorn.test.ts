import { join } from 'node:path';
import { compileForChildren, freePort, REPO, runNode, type Finished } from './helpers.js';

const SCRIPT = join(REPO, 'test', 'dist', 'fixtures', 'swav-rank.mjs');
type Out = { rank: number; worldSize: number; q: number[]; qLocal: number[]; loss: number };

function parse(f: Finished): Out {
  const line = f.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (f.code !== 0 || !line) throw new Error(`exit ${f.code}:\n${f.stderr}`);
  return JSON.parse(line.slice(7)) as Out;
}

test("SwAV's distributed_sinkhorn: 2 ranks with half the batch each give the codes and loss of 1 rank with the whole batch", async () => {
  const lib = compileForChildren(['src']);
  const port = await freePort();
  const ranks = [0, 1].map((r) =>
    runNode(SCRIPT, [lib], { RANK: String(r), WORLD_SIZE: '2', LOCAL_RANK: String(r), LOCAL_WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) }).done,
  );
  const single = runNode(SCRIPT, [lib], { RANK: '', WORLD_SIZE: '', LOCAL_RANK: '', LOCAL_WORLD_SIZE: '' }).done;
  const [r0, r1, one] = (await Promise.all([...ranks, single])).map(parse);
  expect([one.worldSize, r0.worldSize, r1.worldSize]).toEqual([1, 2, 2]);
  // rank r holds rows r·B/2 .. (r+1)·B/2 of the single process's Q
  const q = [...r0.q, ...r1.q];
  expect(q).toHaveLength(one.q.length);
  q.forEach((v, i) => expect(Math.abs(v - one.q[i])).toBeLessThan(1e-5));
  // without the all-reduce each half is normalised on its own and the codes differ
  const local = [...r0.qLocal, ...r1.qLocal];
  expect(Math.max(...local.map((v, i) => Math.abs(v - one.q[i])))).toBeGreaterThan(1e-2);
  // the loss is a mean over samples: the ranks' mean (what DDP's gradient averaging optimises) is the whole batch's
  expect(Math.abs((r0.loss + r1.loss) / 2 - one.loss)).toBeLessThan(1e-5 * Math.abs(one.loss));
}, 120_000);
