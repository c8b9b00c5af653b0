/** Issue 24, item 4: an fp16 config says, in one warning line, that the run computes in fp32. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { precisionWarning } from '../../src/runner/precision.js';
import { runWorker } from '../../src/runner/worker-main.js';
import { quiet, tempDir, TINY_SIMCLR, writeConfig } from './helpers.js';

test('precisionWarning: one line for any fp16 value, none without', () => {
  expect(precisionWarning({ loss_scale: 512.0 })).toBe(
    'fp16 = {"loss_scale":512}: this run computes in fp32 (bf16 mixed precision is not available yet); loss_scale has no effect and results match an fp32 run',
  );
  expect(precisionWarning({ loss_scale: 'dynamic' })).toContain('computes in fp32');
  expect(precisionWarning(undefined)).toBeUndefined();
  expect(precisionWarning(null)).toBeUndefined();
});

test('a run of a config with fp16 logs the warning once', async () => {
  const dir = tempDir();
  const cfg = writeConfig(dir, TINY_SIMCLR, (c) => {
    c.data.samples_per_gpu = 4;
    c.data.train.data_source.num_samples = 4;
    c.fp16 = { loss_scale: 512.0 };
  });
  const w = join(dir, 'w');
  expect(await quiet(() => runWorker(['--config', cfg, '--work-dir', w, '--backend', 'wasm']))).toBe(0);
  const log = readdirSync(w).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(w, f), 'utf8')).join('');
  expect(log.split('\n').filter((l) => l.includes('computes in fp32'))).toEqual([expect.stringContaining('WARNING - fp16 = {"loss_scale":512}: this run computes in fp32')]);
});
