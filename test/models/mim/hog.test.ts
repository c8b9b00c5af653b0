/** Issue 18: MaskFeat's HOG target equals MMSelfSup's HOGGenerator (tools/torch-mim-reference.py hog) within 1e-5. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../../src/engine/backend.js';
import { decodeSafetensors, tensorFromRaw } from '../../../src/engine/safetensors.js';
import { tf, type Tensor4D } from '../../../src/engine/tf.js';
import { HOGGenerator } from '../../../src/models/targets/hog-generator.js';
import { FIXTURES } from './replay.js';

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

test.each(['a', 'b'])('setting %s: max |ssl − torch| < 1e-5', (key) => {
  const { tensors, metadata } = decodeSafetensors(readFileSync(join(FIXTURES, 'hog.safetensors')));
  const s = JSON.parse(metadata.settings)[key];
  // tools/torch-reference.py formula_input: sin(0.3 j + 0.5) over NCHW, here × 2
  const nchw = Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, j) => Math.fround(Math.sin(0.3 * j + 0.5)) * 2);
  tf.tidy(() => {
    const x = tf.transpose(tf.tensor4d(nchw, [2, 3, 32, 32]), [0, 2, 3, 1]) as Tensor4D;
    const hog = new HOGGenerator({ nbins: s.nbins, pool: s.pool, gaussian_window: s.gaussian_window, patchesPerSide: s.patches_per_side }).forward(x);
    const ref = tensorFromRaw(tensors.get(`hog.${key}`)!);
    expect(hog.shape).toEqual(ref.shape);
    const err = tf.max(tf.abs(tf.sub(hog, ref))).dataSync()[0];
    if (process.env.SSL_PRINT_EQUALITY) console.log(`hog ${key}: ${err}`);
    expect(err).toBeLessThan(1e-5);
    expect(tf.max(ref).dataSync()[0]).toBeGreaterThan(0.3); // not all zero
  });
});

test('sizes that do not fit are one line naming the values', () => {
  const x = tf.zeros([1, 24, 24, 3]) as Tensor4D;
  expect(() => new HOGGenerator({ pool: 8, gaussian_window: 16 }).forward(x)).toThrow('HOGGenerator: image size 24×24 must be a multiple of gaussian_window 16');
  expect(() => new HOGGenerator({ pool: 8, gaussian_window: 8 }).forward(x)).toThrow(/3 cells per side .* must be a multiple of the 14 patches per side/);
  x.dispose();
});
