import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDataset } from '../../src/data/index.js';
import { initBackend } from '../../src/engine/backend.js';
import { manualSeed } from '../../src/engine/random.js';
import { extractFeatureSets } from '../../src/eval/extract-features.js';
import { knnDatasets, knnFeatureHead } from '../../src/eval/knn.js';
import { loadConfig } from '../../src/config/index.js';
import { buildModel } from '../../src/models/index.js';
import type { BaseAlgorithm } from '../../src/models/algorithms/base.js';
import { parseWorkerArgs } from '../../src/runner/worker-args.js';
import { ranksInProcess } from '../helpers/ranks-in-process.js';
import { REPO_ROOT, runCli } from '../helpers/run-cli.js';

const CONFIG = join(REPO_ROOT, 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml');
// 21 images: the distributed sampler pads rank 1's share, and the batch of 4 leaves a partial last batch
const SMALL = ['--cfg-options', 'data.train.data_source.num_samples=21', 'knn.samples_per_gpu=4', '--backend', 'wasm'];
const root = mkdtempSync(join(tmpdir(), 'ssl-eval-launch-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, any>;

test('data-parallel extraction: 2 ranks with their shares gather exactly the features, labels and order of 1 process', async () => {
  await initBackend('wasm', { log: () => {} });
  const cfg = loadConfig(CONFIG, { cfgOptions: ['data.train.data_source.num_samples=21'] }) as Record<string, unknown>;
  const model = (): BaseAlgorithm => {
    manualSeed(0);
    const m = buildModel(cfg.model) as BaseAlgorithm;
    m.eval();
    return m;
  };
  const dataset = await buildDataset(knnDatasets(cfg).train);
  const one = await extractFeatureSets(model(), dataset, knnFeatureHead, { batchSize: 4 });
  const [d0, d1] = ranksInProcess(2);
  const [r0, r1] = await Promise.all([d0, d1].map((dist) => extractFeatureSets(model(), dataset, knnFeatureHead, { batchSize: 4, dist })));
  expect(one.n).toBe(21);
  for (const r of [r0, r1]) {
    expect(r.n).toBe(21);
    expect(Array.from(r.labels)).toEqual(Array.from(one.labels));
    expect(r.sets[0].dim).toBe(one.sets[0].dim);
    const f = r.sets[0].feats;
    expect(Math.max(...Array.from(f, (v, i) => Math.abs(v - one.sets[0].feats[i])))).toBeLessThan(1e-6);
  }
}, 60_000);

test('ssl eval knn --launcher local --gpus 2 gives the single-process result and writes WORK_DIR/eval/knn.json', () => {
  const single = runCli(['eval', 'knn', CONFIG, '--k', '3', '--json', '--work-dir', join(root, 'one'), ...SMALL], { timeoutMs: 120_000 });
  if (single.status !== 0) throw new Error(single.stderr);
  const two = runCli(['eval', 'knn', CONFIG, '--k', '3', '--json', '--work-dir', join(root, 'two'), '--launcher', 'local', '--gpus', '2', ...SMALL], { timeoutMs: 120_000 });
  if (two.status !== 0) throw new Error(two.stderr);
  const a = lastJson(single.stdout);
  const b = lastJson(two.stdout);
  expect({ top1: b.top1, top5: b.top5, numTrain: b.numTrain, numVal: b.numVal, k: b.k }).toEqual({ top1: a.top1, top5: a.top5, numTrain: 21, numVal: 21, k: 3 });
  const file = JSON.parse(readFileSync(join(root, 'two', 'eval', 'knn.json'), 'utf8'));
  expect(file).toMatchObject({ name: 'knn', metric: 'knn_top1', value: a.top1, world_size: 2 });
  expect(JSON.parse(readFileSync(join(root, 'one', 'eval', 'knn.json'), 'utf8'))).toMatchObject({ value: a.top1, world_size: 1 });
  expect(two.stderr).toContain('ssl eval knn: 2 rank(s)');
}, 240_000);

test('ssl eval svm --launcher local --gpus 2 gives the single-process per-class APs and costs', () => {
  const args = ['eval', 'svm', CONFIG, '--features', 'feat5', '--json', ...SMALL];
  const single = runCli([...args, '--work-dir', join(root, 's1')], { timeoutMs: 120_000 });
  if (single.status !== 0) throw new Error(single.stderr);
  const two = runCli([...args, '--work-dir', join(root, 's2'), '--launcher', 'local', '--gpus', '2'], { timeoutMs: 120_000 });
  if (two.status !== 0) throw new Error(two.stderr);
  const a = lastJson(single.stdout);
  const b = lastJson(two.stdout);
  expect(b.results.per_class).toEqual(a.results.per_class);
  expect(b.value).toBe(a.value);
  expect([a.world_size, b.world_size]).toEqual([1, 2]);
  expect(JSON.parse(readFileSync(join(root, 's2', 'eval', 'svm.json'), 'utf8'))).toMatchObject({ name: 'svm', value: a.value, world_size: 2 });
}, 240_000);

test('--launcher slurm --dry-run: the sbatch script runs ssl-worker in evaluation mode on every task', () => {
  const knn = runCli(['eval', 'knn', CONFIG, '--k', '5', '--checkpoint', CONFIG, '--launcher', 'slurm', '--dry-run', '--tasks-per-node', '2', '--gpus-per-node', '0', '--work-dir', join(root, 'dry')]);
  expect(knn.status).toBe(0);
  const line = knn.stdout.split('\n').find((l) => l.includes('ssl-worker.js'))!;
  expect(line).toContain(`--eval knn --eval-result ${join(root, 'dry', 'eval', 'knn.json')} --checkpoint ${CONFIG} --k 5`);
  expect(knn.stdout).toMatch(/^#SBATCH --ntasks-per-node=2$/m);
  // what the script runs is what the worker parses
  const argv = line.trim().split(/\s+/).slice(2);
  expect(parseWorkerArgs(argv).eval).toMatchObject({ kind: 'knn', k: 5, checkpoint: CONFIG });
  const svm = runCli(['eval', 'svm', CONFIG, '--low-shot', '--features', 'feat4', '--launcher', 'slurm', '--dry-run', '--work-dir', join(root, 'dry')]);
  expect(svm.status).toBe(0);
  expect(svm.stdout).toContain(`--eval svm --eval-result ${join(root, 'dry', 'eval', 'svm-lowshot.json')} --features feat4 --low-shot --costs 1,10,100`);
});

test('bad flags: one line, exit 2', () => {
  const bad = (args: string[]) => {
    const r = runCli(['eval', ...args, '--work-dir', join(root, 'bad')]);
    expect(r.status).toBe(2);
    return r.stderr.trim();
  };
  expect(bad(['knn', CONFIG, '--launcher', 'local', '--gpus', '2', '--k', '0'])).toBe('Error: --k must be a positive integer, got 0');
  expect(bad(['knn', CONFIG, '--launcher', 'local', '--temperature', 'hot'])).toBe('Error: --temperature must be a positive number, got "hot"');
  expect(bad(['knn', CONFIG, '--launcher', 'local', '--checkpoint', join(root, 'missing.ckpt')])).toBe(`Error: --checkpoint ${join(root, 'missing.ckpt')} does not exist`);
  expect(bad(['svm', CONFIG, '--launcher', 'local', '--costs', ','])).toBe('Error: the SVM cost list is empty; give costs like --costs 1.0,10.0,100.0');
  expect(bad(['svm', CONFIG, '--launcher', 'slurm', '--voc', join(root, 'nope')])).toBe(`Error: --voc ${join(root, 'nope')} does not exist; give a VOC tree with JPEGImages and ImageSets/Main`);
  // oclif's own check of the option list, as for ssl train
  expect(bad(['knn', CONFIG, '--launcher', 'mpi'])).toContain('Expected --launcher=mpi to be one of: none, local, slurm, k8s');
});

test('worker arguments of the evaluation mode are checked', () => {
  const base = ['--config', 'c.json', '--work-dir', 'w'];
  expect(() => parseWorkerArgs([...base, '--eval', 'linear', '--eval-result', 'r.json'])).toThrow('--eval must be one of knn, svm, got "linear"');
  expect(() => parseWorkerArgs([...base, '--eval', 'knn'])).toThrow('--eval needs --eval-result FILE.json');
  expect(() => parseWorkerArgs([...base, '--k', '3'])).toThrow('--k belongs to the evaluation mode; add --eval knn|svm');
  expect(() => parseWorkerArgs([...base, '--eval', 'knn', '--eval-result', 'r.json', '--low-shot'])).toThrow('--low-shot is not an option of --eval knn');
  expect(parseWorkerArgs([...base, '--eval', 'svm', '--eval-result', 'r.json', '--costs', '1,10', '--train-limit', '5']).eval).toEqual({
    kind: 'svm', checkpoint: undefined, k: undefined, temperature: undefined, features: undefined, lowShot: false, costs: [1, 10], voc: undefined, trainLimit: 5, saveFeatures: false,
  });
  expect(parseWorkerArgs(base).eval).toBeUndefined();
});
