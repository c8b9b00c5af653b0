/**
 * MMSelfSup's RotationPred, RelativeLoc and NPID configs train 2 iterations unchanged, on the
 * synthetic source and a ResNet-18 chosen with --cfg-options; NPID's bad inputs are one-line errors.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHARED_DIR, runCli } from '../helpers/run-cli.js';

const DIR = join(SHARED_DIR, 'data', 'mmselfsup-configs', 'selfsup');
const SYNTHETIC = ['data.train.data_source.type=SyntheticShapes', 'data.train.data_source.ann_file=None', 'data.train.data_source.data_prefix=None', 'data.train.data_source.num_samples=8'];
const SMALL = ['data.samples_per_gpu=4', 'data.workers_per_gpu=0', 'runner.max_epochs=1', 'log_config.interval=1', 'model.backbone.depth=18'];
const NPID = ['model.memory_bank.length=8', 'model.neg_num=4', 'model.neck.in_channels=512', 'data.train.pipeline.0.size=32'];

const RUNS: [string, string[]][] = [
  ['rotation_pred/rotation-pred_resnet50_8xb16-steplr-70e_in1k.py', ['model.head.in_channels=512', 'data.train.pipeline.0.size=32']],
  ['relative_loc/relative-loc_resnet50_8xb64-steplr-70e_in1k.py', ['model.neck.in_channels=512', 'model.neck.out_channels=64', 'model.head.in_channels=64', 'data.train.pipeline.0.size=72', 'data.train.pipeline.1.size=66']],
  ['npid/npid-ensure-neg_resnet50_8xb32-steplr-200e_in1k.py', NPID],
];

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ssl-pretext-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const have = existsSync(DIR);

describe.each(RUNS)('%s', (file, extra) => {
  (have ? test : test.skip)('trains 2 iterations on the synthetic source', () => {
    const wd = join(work, file.split('/')[0]);
    const r = runCli(['train', join(DIR, file), '--work-dir', wd, '--backend', 'wasm', '--seed', '0', '--cfg-options', ...SYNTHETIC, ...SMALL, ...extra], { timeoutMs: 240_000 });
    expect(r.stderr + r.stdout).not.toMatch(/ERROR/);
    expect(r.status).toBe(0);
    const log = readFileSync(join(wd, readdirSync(wd).find((f) => f.endsWith('.log'))!), 'utf8');
    const losses = [...log.matchAll(/Epoch \[1\]\[\d\/2\].*?loss: ([\d.]+)/g)].map((m) => Number(m[1]));
    expect(losses).toHaveLength(2);
    expect(losses.every((l) => Number.isFinite(l) && l > 0)).toBe(true);
    expect(existsSync(join(wd, 'epoch_1.ckpt'))).toBe(true);
  }, 300_000);
});

const npid = join(DIR, 'npid/npid_resnet50_8xb32-steplr-200e_in1k.py');
(have ? test : test.skip).each([
  ['neg_num not below the memory (data set) size', ['model.neg_num=8'], /NPID: neg_num \(8\) must be smaller than memory_bank\.length \(8/],
  ['a memory bank longer than the data set', ['model.memory_bank.length=20', 'model.neg_num=4'], /NPID: model\.memory_bank\.length is 20 but the training data set has 8 samples/],
])('NPID: %s is a one-line error, exit 2', (_what, opts, message) => {
  const r = runCli(['train', npid, '--work-dir', join(work, 'bad'), '--backend', 'wasm', '--cfg-options', ...SYNTHETIC, ...SMALL, 'model.memory_bank.length=8', 'model.neck.in_channels=512', 'data.train.pipeline.0.size=32', ...opts], { timeoutMs: 120_000 });
  expect(r.status).toBe(2);
  const out = r.stdout + r.stderr;
  expect(out).not.toMatch(/^\s+at /m);
  const errors = out.split('\n').filter((l) => / - ERROR - |^Error/.test(l));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(message);
}, 150_000);
