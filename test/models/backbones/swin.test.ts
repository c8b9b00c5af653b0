/** Issue 18: mmcls's SwinTransformer (src/models/backbones/swin*.ts): stage shapes, PyTorch's parameter counts, shifted-window rules, bad input. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../../src/engine/backend.js';
import { manualSeed } from '../../../src/engine/random.js';
import type { Scalar } from '@tensorflow/tfjs-core';
import { tf, type Tensor3D, type Tensor4D, type Variable } from '../../../src/engine/tf.js';
import { SwinBlock } from '../../../src/models/backbones/swin-blocks.js';
import { ShiftWindowMSA, relativePositionIndex, shiftedWindowMask } from '../../../src/models/backbones/swin-attention.js';
import type { SwinTransformer } from '../../../src/models/backbones/swin.js';
import { BACKBONES } from '../../../src/models/index.js';

const REF = JSON.parse(readFileSync(join(process.cwd(), 'test', 'fixtures', 'torch', 'swin-param-counts.json'), 'utf8')) as Record<string, any>;

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

const swin = (args: Record<string, unknown>) => BACKBONES.build({ type: 'SwinTransformer', ...args }) as unknown as SwinTransformer;

test('four stages: NHWC outputs at strides 4..32 with C, 2C, 4C, 8C channels (out_after_downsample: the merged ones)', () => {
  manualSeed(0);
  const arch = { embed_dims: 8, depths: [1, 1, 1, 1], num_heads: [1, 2, 2, 4] };
  const m = swin({ arch, img_size: 64, window_size: 2, out_indices: [0, 1, 2, 3], drop_path_rate: 0 });
  tf.tidy(() => expect(m.forward(tf.randomNormal([2, 64, 64, 3]) as Tensor4D).map((t) => t.shape)).toEqual([[2, 16, 16, 8], [2, 8, 8, 16], [2, 4, 4, 32], [2, 2, 2, 64]]));
  const after = swin({ arch, img_size: 64, window_size: 2, out_indices: [0, 3], out_after_downsample: true, drop_path_rate: 0 });
  tf.tidy(() => expect(after.forward(tf.randomNormal([1, 64, 64, 3]) as Tensor4D).map((t) => t.shape)).toEqual([[1, 8, 8, 16], [1, 2, 2, 64]]));
  expect(m.namedParameters().map(([n]) => n)).toContain('stages.0.blocks.0.attn.w_msa.relative_position_bias_table');
  expect(m.namedBuffers().map(([n]) => n)).toContain('stages.3.blocks.0.attn.w_msa.relative_position_index');
  expect(m.namedParameters().map(([n]) => n)).toEqual(expect.arrayContaining(['stages.2.downsample.norm.weight', 'stages.2.downsample.reduction.weight', 'norm3.bias', 'patch_embed.norm.weight']));
  m.dispose();
  after.dispose();
});

test('relative_position_index and the shifted-window mask are mmcls\'s', () => {
  // torch: coords = double_step_seq(3, 2, 1, 2); (coords + coords.T).flip(1)
  expect(Array.from(relativePositionIndex(2, 2))).toEqual([4, 3, 1, 0, 5, 4, 2, 1, 7, 6, 4, 3, 8, 7, 5, 4]);
  // ShiftWindowMSA.get_attn_mask((4, 4), 2, 1): the last window mixes 4 regions, the first one none
  const mask = shiftedWindowMask(4, 4, 2, 1);
  expect(Array.from(mask.slice(0, 16)).every((v) => v === 0)).toBe(true);
  expect(Array.from(mask.slice(48, 64))).toEqual([0, -100, -100, -100, -100, 0, -100, -100, -100, -100, 0, -100, -100, -100, -100, 0]);
});

test('a map as small as the window is not shifted unless pad_small_map (mmcls)', () => {
  manualSeed(0);
  const shifted = new ShiftWindowMSA(8, 2, 4, { shiftSize: 2, dropPath: 0, padSmallMap: false });
  const plain = new ShiftWindowMSA(8, 2, 4, { shiftSize: 0, dropPath: 0, padSmallMap: false });
  const padded = new ShiftWindowMSA(8, 2, 4, { shiftSize: 2, dropPath: 0, padSmallMap: true });
  plain.loadStateDict(shifted.stateDict());
  padded.loadStateDict(shifted.stateDict());
  tf.tidy(() => {
    const x = tf.randomNormal([2, 16, 8], 0, 1, 'float32', 3) as Tensor3D;
    const diff = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
    expect(diff(shifted.forward(x, [4, 4]), plain.forward(x, [4, 4]))).toBe(0);
    expect(diff(padded.forward(x, [4, 4]), plain.forward(x, [4, 4]))).toBeGreaterThan(1e-3);
    // an 8×8 map is shifted: the SW-MSA output differs from W-MSA's
    const big = tf.randomNormal([1, 64, 8], 0, 1, 'float32', 4) as Tensor3D;
    expect(diff(shifted.forward(big, [8, 8]), plain.forward(big, [8, 8]))).toBeGreaterThan(1e-3);
  });
  [shifted, plain, padded].forEach((m) => m.dispose());
});

test('parameter count of mmcls Swin-T equals PyTorch\'s', async () => {
  await initBackend('cpu', { log: () => {} });
  try {
    const t = swin({ arch: 'tiny', img_size: 224 });
    expect(t.numParameters()).toBe(REF['SwinTransformer tiny (224, window 7)']);
    t.dispose();
  } finally {
    await initBackend('wasm', { log: () => {} });
  }
}, 60_000);

test('inside the gradient tape a shifted block keeps what its gradients need, not its scratch (rolls, window copies)', () => {
  const block = new SwinBlock(32, 2, { window_size: 4, shift: true });
  const x = tf.randomNormal([2, 256, 32]) as Tensor3D;
  let held = 0;
  const { value, grads } = tf.variableGrads(() => {
    const before = tf.memory().numBytes;
    const y = block.forward(x, [16, 16]);
    held = tf.memory().numBytes - before;
    return tf.sum(y) as Scalar;
  }, block.parameters() as Variable[]);
  // in units of one [2, 256, 32] token tensor: 106 on wasm (the FFN's 4×-wide GELU pieces are most of it); 167 without the block's tidy
  expect(held / x.size / 4).toBeLessThan(130);
  expect(Object.keys(grads)).toHaveLength(block.parameters().length);
  value.dispose();
  Object.values(grads).forEach((g) => g.dispose());
  x.dispose();
  block.dispose();
});

test('frozen_stages freezes the patch embedding, stages 0..k and their out norms', () => {
  const m = swin({ arch: { embed_dims: 8, depths: [1, 1], num_heads: [1, 2] }, img_size: 32, window_size: 4, out_indices: [0, 1], frozen_stages: 0 });
  const frozen = m.namedParameters().filter(([, v]) => !v.trainable).map(([n]) => n.split('.').slice(0, 2).join('.'));
  expect([...new Set(frozen)].sort()).toEqual(['norm0.bias', 'norm0.weight', 'patch_embed.norm', 'patch_embed.projection', 'stages.0']);
  m.dispose();
});

test('bad input: one line naming the key and values', () => {
  expect(() => swin({ arch: 'huge' })).toThrow('SwinTransformer: unknown arch "huge"; choose one of t, tiny, s, small, b, base, l, large or give a dict');
  expect(() => swin({ arch: { embed_dims: 8, depths: [2] } })).toThrow(/a custom arch needs exactly embed_dims, depths and num_heads, got depths, embed_dims/);
  expect(() => swin({ img_size: 30 })).toThrow('SwinTransformer: img_size 30 must be a multiple of patch_size 4');
  expect(() => swin({ out_indices: [4] })).toThrow('SwinTransformer: out_indices 4 is out of range for 4 stages');
  expect(() => swin({ stage_cfgs: { block_cfgs: { window: 7 } } })).toThrow(/window/);
  expect(() => swin({ stage_cfgs: { block_cfgs: { attn_cfgs: { attn_drop: 0.1 } } } })).toThrow('SwinTransformer: attn_cfgs.attn_drop 0.1 is not supported; leave it 0');
  const m = swin({ arch: { embed_dims: 8, depths: [1, 1], num_heads: [1, 2] }, img_size: 32, window_size: 6, out_indices: [1] });
  expect(() => tf.tidy(() => m.forward(tf.zeros([1, 32, 32, 3]) as Tensor4D))).toThrow(/a 4×4 feature map is smaller than window_size 6/);
  expect(() => tf.tidy(() => m.forward(tf.zeros([1, 30, 30, 3]) as Tensor4D))).toThrow(/input size 30×30 must be a multiple of patch_size 4/);
  m.dispose();
});
