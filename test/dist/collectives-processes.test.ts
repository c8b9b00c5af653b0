import { join } from 'node:path';
import { compileForChildren, freePort, isGone, REPO, runNode, type Finished } from './helpers.js';

const SCRIPT = join(REPO, 'test', 'dist', 'fixtures', 'collective-rank.mjs');
let lib: string;

beforeAll(() => {
  lib = compileForChildren();
});

function rankEnv(rank: number, w: number, port: number): NodeJS.ProcessEnv {
  return { RANK: String(rank), WORLD_SIZE: String(w), LOCAL_RANK: String(rank), LOCAL_WORLD_SIZE: String(w), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), SSL_RUN_ID: 'test' };
}

function result(f: Finished): Record<string, unknown> {
  const line = f.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`no result (exit ${f.code}):\n${f.stderr}`);
  return JSON.parse(line.slice(7)) as Record<string, unknown>;
}

describe('collectives between 3 real processes over 127.0.0.1', () => {
  it('give exact sums, means, maxima, gathers and broadcasts', async () => {
    const w = 3;
    const port = await freePort();
    const runs = [...Array(w).keys()].map((r) => runNode(SCRIPT, [lib, 'collectives'], rankEnv(r, w, port)));
    const finished = await Promise.all(runs.map((x) => x.done));
    for (const f of finished) expect(f.code).toBe(0);
    const res = finished.map(result);
    const n = 100_003;
    const inputs = [...Array(w).keys()].map((r) => Float32Array.from({ length: n }, (_, i) => ((r + 1) * 31 + i) % 101));
    const sum = new Float32Array(n);
    for (const a of inputs) for (let i = 0; i < n; i++) sum[i] += a[i];
    const checksum = sum.reduce((s, x, i) => s + x * ((i % 7) + 1), 0);
    for (const r of res) {
      expect(r.sum).toEqual(Array.from(sum.subarray(0, 5)));
      expect(r.sumChecksum).toBe(checksum);
      expect(r.mean).toEqual(Array.from(sum.subarray(0, 4)).map((x) => Math.fround(x / w)));
      expect(r.max).toEqual([2, 0, 5]);
      expect(r.gather).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
      expect(r.blocks).toEqual([[0], [1, 1], [2, 2, 2]]);
      expect(r.bcast).toEqual([7, 8, 9]);
      expect(r.seedMsg).toBe('seed=42');
    }
  });
});

describe('failures', () => {
  it('a rank killed with SIGKILL makes the others exit non-zero within 30 s, naming it', async () => {
    const w = 3;
    const port = await freePort();
    const runs = [...Array(w).keys()].map((r) => runNode(SCRIPT, [lib, 'loop'], rankEnv(r, w, port)));
    await new Promise<void>((resolve) => runs[2].child.stdout!.on('data', (d) => String(d).includes('looping') && resolve()));
    const killedAt = Date.now();
    runs[2].child.kill('SIGKILL');
    const others = await Promise.all([runs[0].done, runs[1].done]);
    for (const f of others) {
      expect(f.code).not.toBe(0);
      expect(Date.now() - killedAt).toBeLessThan(30_000);
      expect(f.stderr).toMatch(/rank 2 \(pid \d+ on [^)]*\) died/);
    }
    for (const r of runs) expect(isGone(r.child.pid!)).toBe(true);
  });

  it('a rank busy in a long synchronous step is still stopped when its peer dies', async () => {
    const port = await freePort();
    const runs = [0, 1].map((r) => runNode(SCRIPT, [lib, 'busy'], { ...rankEnv(r, 2, port), FAILURE_KILL_S: '3' }));
    await new Promise<void>((resolve) => runs[1].child.stdout!.on('data', (d) => String(d).includes('looping') && resolve()));
    const killedAt = Date.now();
    runs[1].child.kill('SIGKILL');
    const f = await runs[0].done;
    expect(f.code !== 0 || f.signal !== null).toBe(true);
    expect(Date.now() - killedAt).toBeLessThan(30_000);
    expect(f.stderr).toMatch(/rank 1 .*died/);
  });

  it.each(['leave-early', 'leave-during'])('a rank that leaves while another still runs a collective (%s): that collective fails naming it, both exit', async (scenario) => {
    const port = await freePort();
    const runs = [0, 1].map((r) => runNode(SCRIPT, [lib, scenario], rankEnv(r, 2, port)));
    const [f0, f1] = await Promise.all(runs.map((x) => x.done));
    expect(f0.code).toBe(0);
    expect(f1.code).toBe(0);
    expect(result(f1).error).toMatch(/rank 0 left the job \(it finished or stopped early\)/);
  });

  it("a rank that leaves right after its last collective does not fail a slower rank's copy of it", async () => {
    const port = await freePort();
    const runs = [0, 1].map((r) => runNode(SCRIPT, [lib, 'leave-after-last'], rankEnv(r, 2, port)));
    const [f0, f1] = await Promise.all(runs.map((x) => x.done));
    expect(f0.code).toBe(0);
    expect(f1.code).toBe(0);
    expect(result(f1).last).toBe(6);
    expect(result(f1).error).toMatch(/rank 0 left the job/);
  });

  it('rendezvous: a port in use is named with a free one to use instead', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    const port = await freePort();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
    try {
      const f = await runNode(SCRIPT, [lib, 'collectives'], rankEnv(0, 2, port)).done;
      expect(f.code).not.toBe(0);
      expect(f.stderr).toMatch(new RegExp(`port ${port} on 127.0.0.1 is already in use.*--port \\d+`));
    } finally {
      blocker.close();
    }
  });

  it('rendezvous: waiting names the missing ranks, then times out naming them', async () => {
    const port = await freePort();
    const f = await runNode(SCRIPT, [lib, 'collectives'], { ...rankEnv(0, 3, port), TEST_TIMEOUT_S: '3' }).done;
    expect(f.code).not.toBe(0);
    expect(f.stderr).toMatch(/rendezvous timed out after 3 s .*ranks 1-2 never joined/);
  });
});
