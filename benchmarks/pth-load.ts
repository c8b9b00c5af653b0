/**
 * Loading a ResNet-50 `.pth` (torchvision's resnet50, seeded random weights, torch.save; ~100 MB): ssl against
 * PyTorch on the same file, in one invocation, interleaved rounds, medians.
 *
 *   npm run bench:pth [-- --rounds 7]
 *
 * Rows, each timed inside its own process after the file was read once (warm page cache):
 * - read: ssl `readPth` (zip + restricted unpickler + storage checks; the tensors as contiguous bytes)
 *   vs `torch.load(f, weights_only=True)`;
 * - into a model: ssl `loadWeights` into a ResNet-50 backbone (read + shape checks + OIHW->HWIO + assign)
 *   vs `torch.load(weights_only=True)` + `resnet50().load_state_dict(strict=True)`.
 * The file and PyTorch's timings come from benchmarks/pth_load_torch.py (Debian python3-torch/torchvision).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../src/engine/backend.js';
import { Module } from '../src/engine/module.js';
import { readPth } from '../src/engine/pth/read-pth.js';
import { BACKBONES } from '../src/models/backbones/index.js';
import { loadWeights } from '../src/runner/load-weights.js';
import type { TrainableModel } from '../src/models/contracts.js';

const here = dirname(fileURLToPath(import.meta.url));
const script = join(here, '..', '..', 'benchmarks', 'pth_load_torch.py');
const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1] || 5) || 5;

class WithBackbone extends Module {
  constructor() {
    super();
    this.registerModule('backbone', BACKBONES.build({ type: 'ResNet', depth: 50, out_indices: [4] }));
  }
  forward(): never {
    throw new Error('not used');
  }
}

function torch(args: string[]): number {
  const r = spawnSync('/usr/bin/python3', [script, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pth_load_torch.py ${args.join(' ')} failed: ${r.stderr}`);
  return Number(r.stdout.trim().split('\n').at(-1));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  // the backend training picks (`--backend auto`: native, else wasm): the layout transposes run on it
  let backend = '';
  await initBackend('auto', { log: (m) => (backend ||= m) });
  const dir = mkdtempSync(join(tmpdir(), 'ssl-bench-pth-'));
  try {
    const file = join(dir, 'resnet50.pth');
    torch(['write', file]);
    const mb = statSync(file).size / 1e6;
    const model = new WithBackbone();
    const t = { sslRead: [] as number[], torchRead: [] as number[], sslModel: [] as number[], torchModel: [] as number[] };
    await readPth(file); // warm the page cache and the code
    for (let i = 0; i < rounds; i++) {
      // alternate who goes first
      const ssl = async () => {
        let t0 = performance.now();
        await readPth(file);
        t.sslRead.push(performance.now() - t0);
        t0 = performance.now();
        await loadWeights(model as unknown as TrainableModel, file, { what: 'bench', warn: () => {} });
        t.sslModel.push(performance.now() - t0);
      };
      const pt = () => {
        t.torchRead.push(torch(['read', file]));
        t.torchModel.push(torch(['model', file]));
      };
      if (i % 2 === 0) {
        await ssl();
        pt();
      } else {
        pt();
        await ssl();
      }
    }
    const row = (name: string, s: number[], p: number[]) =>
      `| ${name} | ${median(s).toFixed(0)} ms | ${median(p).toFixed(0)} ms | ${(median(s) / median(p)).toFixed(2)}× |`;
    console.log(`ResNet-50 .pth, ${mb.toFixed(1)} MB, ${rounds} interleaved rounds, medians; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}; ${backend}`);
    console.log('| | ssl | PyTorch | ssl / PyTorch |');
    console.log('|---|---|---|---|');
    console.log(row('read (readPth vs torch.load weights_only=True)', t.sslRead, t.torchRead));
    console.log(row('into a ResNet-50 (loadWeights vs torch.load + load_state_dict strict)', t.sslModel, t.torchModel));
    console.log(`per round: ssl read ${t.sslRead.map((x) => x.toFixed(0)).join('/')} ms, torch read ${t.torchRead.map((x) => x.toFixed(0)).join('/')} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
