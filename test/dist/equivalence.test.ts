import { join } from 'node:path';
import { nativeUnavailable } from '../engine/backends-under-test.js';
import { compileForChildren, freePort, REPO, runNode, type Finished } from './helpers.js';

const SCRIPT = join(REPO, 'test', 'dist', 'fixtures', 'equiv-rank.mjs');
type Out = { rank: number; worldSize: number; loss: number; shuffleDiff: number; weights: Record<string, number[]> };

function parse(f: Finished): Out {
  const line = f.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (f.code !== 0 || !line) throw new Error(`exit ${f.code}:\n${f.stderr}`);
  return JSON.parse(line.slice(7)) as Out;
}

/** Max over tensors of max|a - b| / max|b| (relative to each tensor's scale). */
function maxRelDiff(a: Record<string, number[]>, b: Record<string, number[]>): number {
  let worst = 0;
  for (const k of Object.keys(b)) {
    expect(a[k]).toBeDefined();
    const scale = Math.max(...b[k].map(Math.abs), 1e-12);
    const diff = Math.max(...a[k].map((v, i) => Math.abs(v - b[k][i])));
    if (process.env.DEBUG_EQUIV) console.log(k, diff, scale, diff / scale);
    worst = Math.max(worst, diff / scale);
  }
  return worst;
}

const nativeWhy = nativeUnavailable();
const BACKENDS = ['cpu', ...(nativeWhy && !process.env.CI ? [] : ['native'])];

describe('data-parallel equivalence (tiny SimCLR on engine layers, 20 SGD steps)', () => {
  it.each(BACKENDS)('2 processes x batch B == 1 process x batch 2B with SyncBN and gathered negatives; batch shuffle is transparent (%s)', async (backend) => {
    if (backend === 'native' && nativeWhy) throw new Error(`the native engine must be built in CI: ${nativeWhy}`);
    const lib = compileForChildren(['src/dist', 'src/errors.ts', 'src/engine']);
    const port = await freePort();
    const engine = backend === 'native' ? { EQUIV_BACKEND: 'native', SSL_NATIVE_ADDON: join(REPO, 'native', 'build', 'Release', 'ssl_native.node') } : {};
    const dist = [0, 1].map((r) =>
      runNode(SCRIPT, [lib], { ...engine, RANK: String(r), WORLD_SIZE: '2', LOCAL_RANK: String(r), LOCAL_WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) }).done,
    );
    const single = runNode(SCRIPT, [lib], { ...engine, RANK: '', WORLD_SIZE: '', LOCAL_RANK: '' }).done;
    const [d0, d1, one] = (await Promise.all([...dist, single])).map(parse);
    expect(one.worldSize).toBe(1);
    expect(d0.worldSize).toBe(2);
    // The run trained (weights moved) and both ranks hold the same weights.
    expect(Math.abs(d0.loss - one.loss)).toBeLessThan(1e-4 * Math.abs(one.loss));
    expect(maxRelDiff(d1.weights, d0.weights)).toBe(0);
    expect(maxRelDiff(d0.weights, one.weights)).toBeLessThanOrEqual(1e-4);
    expect(d0.shuffleDiff).toBeLessThan(1e-5);
    expect(d1.shuffleDiff).toBeLessThan(1e-5);
  });
});
