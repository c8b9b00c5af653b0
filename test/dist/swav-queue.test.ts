import { join } from 'node:path';
import { compileForChildren, freePort, REPO, runNode, type Finished } from './helpers.js';

/**
 * SwAV's queue across 2 ranks, as MMSelfSup 0.x keeps it: SwAVHook gives each rank a queue of
 * queue_length / world_size rows (16 / 2 = 8), SwAVHead fills it with that rank's own assignment-crop
 * embeddings (nothing is gathered) and predicts codes from [its queue; its batch] with distributed_sinkhorn,
 * whose only effective all-reduce (sum(Q)) divides out; DDP averages the gradients. The single-process run
 * these semantics imply is 2 independent replicas, each with its own 8-row queue and its half of the batch,
 * stepped with their averaged gradients: every rank must end where its replica ends (losses, queue use,
 * queue, its own BN statistics, the momentum buffers of the averaged gradients; BN, not SyncBN, so the
 * statistics stay per rank, as under MMSelfSup's MMDistributedDataParallel(broadcast_buffers=False)) after
 * 4 steps, the queue filling in steps 0-1 and predicted with in steps 2-3.
 * A queue of gathered features, all-reduced row sums (facebookresearch/swav's Sinkhorn) or unaveraged
 * gradients would each break it (test/dist/swav-sinkhorn.test.ts: per-rank codes differ from the global
 * ones by > 1e-2).
 */
const SCRIPT = join(REPO, 'test', 'dist', 'fixtures', 'swav-queue-rank.mjs');
type Out = { rank: number; losses: number[]; used: boolean[]; queue: number[][]; state: Record<string, number[]> };

function parse(f: Finished): Out[] {
  const lines = f.stdout.split('\n').filter((l) => l.startsWith('RESULT '));
  if (f.code !== 0 || lines.length === 0) throw new Error(`exit ${f.code}:\n${f.stderr}`);
  return lines.map((l) => JSON.parse(l.slice(7)) as Out);
}

/** max |a - b| / max(max |b|, floor) */
const rel = (a: number[], b: number[], floor = 0) => Math.max(...a.map((v, i) => Math.abs(v - b[i]))) / Math.max(1e-12, floor, ...b.map(Math.abs));

test("SwAV's per-rank queues across 2 ranks: each rank equals a single-process replica with its own queue and half the batch, gradients averaged", async () => {
  const lib = compileForChildren(['src']);
  const port = await freePort();
  const ranks = [0, 1].map((r) =>
    runNode(SCRIPT, [lib], { RANK: String(r), WORLD_SIZE: '2', LOCAL_RANK: String(r), LOCAL_WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) }).done,
  );
  const single = runNode(SCRIPT, [lib, '2'], { RANK: '', WORLD_SIZE: '', LOCAL_RANK: '', LOCAL_WORLD_SIZE: '' }).done;
  const [[r0], [r1], replicas] = (await Promise.all([...ranks, single])).map(parse);
  for (const [rank, replica] of [r0, r1].map((r, i) => [r, replicas[i]] as const)) {
    expect(rank.rank).toBe(replica.rank);
    expect(rank.used).toEqual([false, false, true, true]);
    expect(replica.used).toEqual(rank.used);
    expect(rel(rank.losses, replica.losses)).toBeLessThan(1e-5);
    // 8 rows of 8 per crop for assignment, every row this rank's own
    expect(rank.queue.map((q) => q.length)).toEqual([64, 64]);
    rank.queue.forEach((q, i) => expect(rel(q, replica.queue[i])).toBeLessThan(1e-5));
    // parameters, this rank's BN statistics, the momentum buffers (sums of the averaged gradients); a buffer
    // whose gradient is 0 in exact arithmetic (the neck's fc bias ahead of BN) is compared relative to 1e-3
    // of the largest buffer instead of to its own rounding noise
    const largest = Math.max(...Object.entries(replica.state).filter(([n]) => n.startsWith('optimizer.')).flatMap(([, v]) => v.map(Math.abs)));
    const errors = Object.entries(rank.state).map(([n, v]) => [n, rel(v, replica.state[n], n.startsWith('optimizer.') ? 1e-3 * largest : 0)] as const);
    expect(errors.filter(([n]) => n.startsWith('optimizer.')).length).toBeGreaterThan(50);
    const worst = errors.sort((a, b) => b[1] - a[1])[0];
    expect({ at: worst[0], ok: worst[1] < 1e-5 }).toEqual({ at: worst[0], ok: true });
  }
  // the ranks' queues and BN statistics are their own, the parameters shared
  expect(rel(r0.queue[0], r1.queue[0])).toBeGreaterThan(1e-2);
  expect(rel(r0.state['backbone.bn1.running_mean'], r1.state['backbone.bn1.running_mean'])).toBeGreaterThan(1e-3);
  expect(rel(r0.state['optimizer.head.prototypes.weight.momentum_buffer'], r1.state['optimizer.head.prototypes.weight.momentum_buffer'])).toBe(0);
}, 120_000);
