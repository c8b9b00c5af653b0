/** Issue 24, item 2: resume_from / load_from in the config act as in MMSelfSup; the flags win over the keys. */
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runWorker } from '../../src/runner/worker-main.js';
import { captured, quiet, tempDir, TINY_SIMCLR, writeConfig } from './helpers.js';

/** 8×8 images, 4 per batch, one batch per epoch, a 4-channel ResNet-18. */
function micro(c: Record<string, any>): void {
  c.data.samples_per_gpu = 4;
  c.data.train.data_source.num_samples = 4;
  c.data.train.data_source.image_size = 8;
  c.data.train.pipelines[0][0].size = 8;
  c.model.backbone.base_channels = 4;
  c.model.backbone.stem_channels = 4;
  c.model.neck.in_channels = 32;
  c.runner.max_epochs = 2;
}

function logText(d: string): string {
  return readdirSync(d).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(d, f), 'utf8')).join('\n');
}

let dir: string;
let first: string;
let second: string;

beforeAll(async () => {
  dir = tempDir('ssl-resume-keys-');
  const cfg = writeConfig(dir, TINY_SIMCLR, micro, 'base.json');
  const a = join(dir, 'a');
  expect(await quiet(() => runWorker(['--config', cfg, '--work-dir', a, '--seed', '0', '--backend', 'wasm']))).toBe(0);
  first = join(a, 'epoch_1.ckpt');
  second = join(a, 'epoch_2.ckpt');
});

async function run(name: string, keys: Record<string, unknown>, flags: string[] = [], prepare?: (w: string) => void): Promise<{ code: number; log: string }> {
  const cfg = writeConfig(dir, TINY_SIMCLR, (c) => {
    micro(c);
    Object.assign(c, keys);
  }, `${name}.json`);
  const w = join(dir, name);
  mkdirSync(w, { recursive: true });
  prepare?.(w);
  const { result: code, out } = await captured(() => runWorker(['--config', cfg, '--work-dir', w, '--backend', 'wasm', ...flags]));
  return { code, log: code === 2 ? out : logText(w) };
}

test('resume_from in the config resumes (counters, then the remaining epoch)', async () => {
  const r = await run('key', { resume_from: first });
  expect(r.code).toBe(0);
  expect(r.log).toContain(`resume_from (config): ${first}`);
  expect(r.log).toContain('resumed epoch 1, iter 1');
  expect(r.log).toMatch(/Epoch \[2\]\[1\/1\]/);
  expect(r.log).not.toMatch(/Epoch \[1\]\[1\/1\]/);
});

test('--resume-from wins over the key; a checkpoint --auto-resume finds wins over the key (MMSelfSup)', async () => {
  const flag = await run('flag', { resume_from: first }, ['--resume-from', second]);
  expect(flag.code).toBe(0);
  expect(flag.log).toContain('resumed epoch 2, iter 2');
  const auto = await run('auto', { resume_from: first }, ['--auto-resume'], (w) => copyFileSync(second, join(w, 'epoch_2.ckpt')));
  expect(auto.log).toContain('auto-resume: found');
  expect(auto.log).toContain('resumed epoch 2, iter 2');
  const none = await run('auto-none', { resume_from: first }, ['--auto-resume']);
  expect(none.log).toContain(`resume_from ${first} of the config`);
  expect(none.log).toContain('resumed epoch 1, iter 1');
});

test('load_from in the config loads weights and starts at epoch 0; --load-from wins over it', async () => {
  const key = await run('load-key', { load_from: first });
  expect(key.code).toBe(0);
  expect(key.log).toContain(`load checkpoint from local path: ${first}`);
  expect(key.log).toMatch(/Epoch \[1\]\[1\/1\]/);
  const flag = await run('load-flag', { load_from: join(dir, 'missing.ckpt') }, ['--load-from', second]);
  expect(flag.code).toBe(0);
  expect(flag.log).toContain(`load checkpoint from local path: ${second}`);
  // resume_from wins over load_from, as in MMSelfSup's train_model
  const both = await run('both', { load_from: second, resume_from: first });
  expect(both.log).toContain('resumed epoch 1, iter 1');
  expect(both.log).not.toContain('load checkpoint from local path');
});

test('a resume_from that does not exist: exit 2, one line naming the key', async () => {
  const missing = join(dir, 'nope.ckpt');
  const r = await run('missing', { resume_from: missing });
  expect(r.code).toBe(2);
  expect(r.log.split('\n').filter((l) => l.includes(' - ERROR - '))).toEqual([expect.stringMatching(new RegExp(`ERROR - resume_from: ${missing} does not exist$`))]);
  // nothing was written (the work dir existed before, empty)
  expect(readdirSync(join(dir, 'missing'))).toEqual([]);
});
