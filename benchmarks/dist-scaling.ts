/**
 * Data-parallel scaling: SimCLR on the small CPU config (ResNet_CIFAR-18 with 8 base channels,
 * 32x32 synthetic images), images/s with 1 process vs 2 processes (local launcher), same batch per
 * process. `npm run bench:dist` (after the all-reduce benchmark) or `node lib/benchmarks/dist-scaling.js [--batch 16] [--iters 8]`.
 *
 * images/s = (processes x batch per process) / median iteration time of rank 0 (iterations 2..N,
 * from the `time` field of its `.log.json`: the whole step, data to optimizer).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { resolveConfig } from '../src/config/index.js';
import { createLauncher } from '../launchers/local/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CONFIG = join(ROOT, 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml');
const WORKER = join(ROOT, 'bin', 'ssl-worker.js');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function prepare(world: number, batch: number, iters: number): { workDir: string; configPath: string } {
  const workDir = mkdtempSync(join(tmpdir(), `ssl-bench-dist-${world}-`));
  const cfg = resolveConfig(CONFIG).cfg as Record<string, any>;
  cfg.data.samples_per_gpu = batch;
  cfg.data.train.data_source.num_samples = batch * world * iters;
  cfg.runner = { type: 'EpochBasedRunner', max_epochs: 1 };
  cfg.checkpoint_config = { interval: 1000 };
  cfg.work_dir = workDir;
  const configPath = join(workDir, 'cfg.json');
  writeFileSync(configPath, JSON.stringify(cfg));
  return { workDir, configPath };
}

function iterTimes(workDir: string): number[] {
  const file = readdirSync(workDir).find((f) => f.endsWith('.log.json'));
  if (!file) throw new Error(`no .log.json in ${workDir}`);
  const rows = readFileSync(join(workDir, file), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"mode":"train"'))
    .map((l) => JSON.parse(l) as { iter: number; time: number });
  return rows.filter((r) => r.iter > 1).map((r) => r.time);
}

async function main(): Promise<void> {
  const batch = arg('batch', 16);
  const iters = arg('iters', 8);
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT'].includes(k)));

  const one = prepare(1, batch, iters);
  const r1 = spawnSync(process.execPath, [WORKER, '--config', one.configPath, '--work-dir', one.workDir, '--seed', '0'], { env: clean, encoding: 'utf8' });
  if (r1.status !== 0) throw new Error(`1-process run failed:\n${r1.stderr}`);
  const t1 = median(iterTimes(one.workDir));

  const two = prepare(2, batch, iters);
  const launcher = createLauncher({ env: {} });
  const port = 29600 + Math.floor(Math.random() * 300);
  const dry = await launcher.dryRun(
    { name: 'bench', runId: `bench-${Date.now()}`, workDir: two.workDir, configPath: two.configPath, workerArgs: ['--seed', '0', '--port', String(port)], nodes: 1, procsPerNode: 2, gpusPerNode: 0, port, env: {} },
    { gpus: 2 },
  );
  const h = await launcher.submit(dry);
  await launcher.logs(h.id, new Writable({ write: (_c, _e, cb) => cb() }), { follow: false });
  const st = await launcher.wait(h.id);
  if (st.state !== 'SUCCEEDED') throw new Error(`2-process run failed: ${st.message}`);
  const t2 = median(iterTimes(two.workDir));

  const ips1 = batch / t1;
  const ips2 = (2 * batch) / t2;
  console.log(`SimCLR small CPU config, batch ${batch} per process, ${iters} iterations (median of iterations 2..${iters}):`);
  console.log(`  1 process:   ${(t1 * 1000).toFixed(0)} ms/iter, ${ips1.toFixed(1)} images/s`);
  console.log(`  2 processes: ${(t2 * 1000).toFixed(0)} ms/iter, ${ips2.toFixed(1)} images/s`);
  console.log(`  scaling: ${(ips2 / ips1).toFixed(2)}x (target >= 1.7x)`);
}

await main();
