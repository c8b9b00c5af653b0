import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { prepareLinearEval } from '../../launchers/eval-linear-job.js';
import { runWorker } from '../../src/runner/worker-main.js';
import { REPO_ROOT, runCli } from '../helpers/run-cli.js';

/**
 * `ssl eval linear` on a tiny benchmark config: a real SimCLR checkpoint (2 iterations of the synthetic
 * recipe), a frozen ResNet_CIFAR, a ClsHead. The fast path (cached pooled features) must train the head on
 * the same batches as the end-to-end path and give the same losses and accuracy.
 */
const dir = mkdtempSync(join(tmpdir(), 'ssl-linear-'));
const pretrain = join(dir, 'pretrain');
let ckpt = '';

const NORM = { type: 'Normalize', mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
function linearConfig(trainPipeline: Record<string, unknown>[] = [{ type: 'ToTensor' }, NORM]): Record<string, unknown> {
  const source = (seed: number, n: number) => ({ type: 'SyntheticShapes', num_samples: n, image_size: 16, seed });
  return {
    model: {
      type: 'Classification',
      backbone: { type: 'ResNet_CIFAR', depth: 18, base_channels: 8, stem_channels: 8, in_channels: 3, out_indices: [4], norm_cfg: { type: 'BN' }, frozen_stages: 4 },
      head: { type: 'ClsHead', with_avg_pool: true, in_channels: 64, num_classes: 10 },
    },
    data: {
      samples_per_gpu: 8,
      workers_per_gpu: 0,
      train: { type: 'SingleViewDataset', data_source: source(0, 32), pipeline: trainPipeline },
      val: { type: 'SingleViewDataset', data_source: source(1, 16), pipeline: [{ type: 'ToTensor' }, NORM] },
    },
    evaluation: { interval: 1, topk: [1, 5] },
    optimizer: { type: 'SGD', lr: 0.1, momentum: 0.9, weight_decay: 0 },
    lr_config: { policy: 'CosineAnnealing', min_lr: 0 },
    runner: { type: 'EpochBasedRunner', max_epochs: 3 },
    checkpoint_config: { interval: 3 },
    log_config: { interval: 1, hooks: [{ type: 'TextLoggerHook' }] },
    seed: 0,
  };
}

function writeConfig(name: string, cfg: Record<string, unknown>): string {
  const p = join(dir, `${name}.yaml`);
  writeFileSync(p, stringify(cfg));
  return p;
}

function jsonLog(workDir: string): Record<string, number | string>[] {
  const f = readdirSync(workDir).filter((n) => n.endsWith('.log.json')).sort().at(-1)!;
  return readFileSync(join(workDir, f), 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l));
}

async function evalLinear(config: string, workDir: string, cache: boolean): Promise<Record<string, any>> {
  const p = prepareLinearEval({ config, checkpoint: ckpt, workDir, cache, backend: 'wasm', seed: 0 });
  expect(await runWorker(p.workerArgv)).toBe(0);
  return JSON.parse(readFileSync(p.resultPath, 'utf8'));
}

beforeAll(async () => {
  // A checkpoint of the real pre-training worker whose eval-mode features are in range after 2 iterations: lr 0 keeps
  // the initial weights and BN momentum None (cumulative average) makes the running statistics the batches' own
  // (2 SimCLR steps at lr 0.1 with momentum 0.1 leave statistics that blow eval-mode features up to ~1e5)
  const base = join(REPO_ROOT, 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml');
  const { resolveConfig } = await import('../../src/config/index.js');
  const cfg = resolveConfig(base, { cfgOptions: ['model.backbone.norm_cfg.momentum=None', 'optimizer.lr=0'] }).cfg;
  const pre = join(dir, 'pretrain.json');
  writeFileSync(pre, JSON.stringify(cfg));
  const code = await runWorker(['--config', pre, '--work-dir', pretrain, '--backend', 'wasm', '--seed', '0']);
  expect(code).toBe(0);
  ckpt = join(pretrain, 'latest.ckpt');
}, 120_000);

describe('ssl eval linear', () => {
  it('the feature cache trains the head on the same batches as end to end (same losses, accuracy), and is reused', async () => {
    const config = writeConfig('linear', linearConfig());
    const cached = await evalLinear(config, join(dir, 'cached'), true);
    const e2e = await evalLinear(config, join(dir, 'e2e'), false);
    expect(cached.feature_cache).toMatch(/^written /);
    expect(e2e.feature_cache).toBe('off');
    const losses = (w: string) => jsonLog(join(w, 'eval', 'linear')).filter((l) => l.mode === 'train').map((l) => l.loss as number);
    const a = losses(join(dir, 'cached'));
    const b = losses(join(dir, 'e2e'));
    expect(a).toHaveLength(12); // 3 epochs x 4 batches
    a.forEach((x, i) => expect(Math.abs(x - b[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(b[i]))));
    // the head learned something (the loss fell) and both paths score the same
    expect(a.at(-1)!).toBeLessThan(a[0]);
    expect(cached.results).toEqual(e2e.results);
    expect(cached.metric).toBe('head4_top1');
    expect(cached.checkpoint).toBe(ckpt);
    expect(cached.checkpoint_sha256).toBe(createHash('sha256').update(readFileSync(ckpt)).digest('hex'));
    expect(cached.config).toBe(config);
    // per-epoch evaluation lines, as MMSelfSup logs them
    const vals = jsonLog(join(dir, 'cached', 'eval', 'linear')).filter((l) => l.mode === 'val');
    expect(vals.map((v) => v.epoch)).toEqual([1, 2, 3]);
    expect(vals[2].head4_top1).toBe(cached.value);

    // a second run over the same weights, data and pipeline reads the cache
    const again = await evalLinear(config, join(dir, 'cached'), true);
    expect(again.feature_cache).toMatch(/^hit /);
    expect(again.results).toEqual(cached.results);
  }, 240_000);

  it('an augmentation that changes per epoch sends the run end to end, saying why', async () => {
    const config = writeConfig('linear-aug', linearConfig([{ type: 'RandomHorizontalFlip' }, { type: 'ToTensor' }, NORM]));
    const r = await evalLinear(config, join(dir, 'aug'), true);
    expect(r.feature_cache).toBe("not used: data.train's pipeline has RandomHorizontalFlip, which changes every epoch");
  }, 120_000);

  it('a checkpoint of another architecture is one line naming the first mismatching tensor and both shapes, exit 2', () => {
    const cfg = linearConfig();
    (cfg.model as any).backbone.base_channels = 16;
    (cfg.model as any).head.in_channels = 128;
    const config = writeConfig('linear-wide', cfg);
    const r = runCli(['eval', 'linear', config, '--checkpoint', ckpt, '--work-dir', join(dir, 'wide'), '--backend', 'wasm'], { timeoutMs: 120_000 });
    expect(r.status).toBe(2);
    // the worker's logger writes the one error line (rank 0's log goes to the console's stdout)
    const errors = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /ERROR|Error:/.test(l));
    expect(errors).toHaveLength(1);
    // layer1's first conv is the first tensor whose shape differs (the stems are both 8 wide); PyTorch's OIHW shapes
    expect(errors[0]).toMatch(/does not fit this model: backbone\.layer1\.0\.conv1\.weight is \[8, 8, 3, 3\] there and \[16, 8, 3, 3\] in this model$/);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/\n\s+at /);
  }, 120_000);

  it('a missing --checkpoint is exit 2 before anything runs', () => {
    const config = writeConfig('linear-missing', linearConfig());
    const r = runCli(['eval', 'linear', config, '--checkpoint', join(dir, 'nope.ckpt'), '--work-dir', join(dir, 'missing')]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`Error: --checkpoint ${join(dir, 'nope.ckpt')} does not exist`);
  });

  it('2 ranks (--launcher local, batch 4 each) give the 1-process result (batch 8): features gathered, same head', () => {
    const cfg = linearConfig();
    const one = writeConfig('linear-b8', cfg);
    (cfg.data as any).samples_per_gpu = 4;
    const two = writeConfig('linear-b4', cfg);
    const r1 = runCli(['eval', 'linear', one, '--checkpoint', ckpt, '--work-dir', join(dir, 'r1'), '--backend', 'wasm', '--seed', '0'], { timeoutMs: 180_000 });
    expect(r1.status).toBe(0);
    const r2 = runCli(['eval', 'linear', two, '--checkpoint', ckpt, '--work-dir', join(dir, 'r2'), '--backend', 'wasm', '--seed', '0', '--launcher', 'local', '--gpus', '2'], { timeoutMs: 180_000 });
    if (r2.status !== 0) throw new Error(r2.stderr.slice(-3000));
    const a = JSON.parse(readFileSync(join(dir, 'r1', 'eval', 'linear.json'), 'utf8'));
    const b = JSON.parse(readFileSync(join(dir, 'r2', 'eval', 'linear.json'), 'utf8'));
    expect(b.world_size).toBe(2);
    expect(b.feature_cache).toMatch(/^written /);
    expect(b.results).toEqual(a.results);
    expect(r2.stdout).toMatch(/^head4_top1: [\d.]+ \([\d.]+ s\) -> /m);
  }, 400_000);
});
