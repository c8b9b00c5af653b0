/** Issue 24, item 4 / issue 16: an fp16 config asks for bf16 mixed precision; where it cannot run, one warning says fp32. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { precisionNote, requestedPrecision } from '../../src/runner/precision.js';
import { runWorker } from '../../src/runner/worker-main.js';
import { quiet, tempDir, TINY_SIMCLR, writeConfig } from './helpers.js';

test('fp16 asks for bf16; --precision wins over the key', () => {
  expect(requestedPrecision(undefined, { loss_scale: 512.0 })).toBe('bf16');
  expect(requestedPrecision('fp32', { loss_scale: 512.0 })).toBe('fp32');
  expect(requestedPrecision(undefined, undefined)).toBeUndefined();
  expect(requestedPrecision(undefined, null)).toBeUndefined();
  expect(precisionNote({ loss_scale: 'dynamic' }, undefined)).toMatch(/^fp16 = \{"loss_scale":"dynamic"\}: mixed precision as bf16 .*loss_scale is not needed/);
  expect(precisionNote({ loss_scale: 512 }, 'fp32')).toMatch(/--precision fp32 given, this run computes in fp32/);
  expect(precisionNote(undefined, undefined)).toBeUndefined();
});

test('an fp16 run on the wasm backend says once that it computes in fp32', async () => {
  const dir = tempDir();
  const cfg = writeConfig(dir, TINY_SIMCLR, (c) => {
    c.data.samples_per_gpu = 4;
    c.data.train.data_source.num_samples = 4;
    c.fp16 = { loss_scale: 512.0 };
  });
  const w = join(dir, 'w');
  expect(await quiet(() => runWorker(['--config', cfg, '--work-dir', w, '--backend', 'wasm']))).toBe(0);
  const log = readdirSync(w).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(w, f), 'utf8')).join('');
  expect(log.split('\n').filter((l) => l.includes('computing in fp32'))).toEqual([
    expect.stringContaining('WARNING - [engine] warning: bf16 requested, computing in fp32: the wasm backend has no bf16 path'),
  ]);
  expect(log).toContain('fp16 = {"loss_scale":512}: mixed precision as bf16');
});
