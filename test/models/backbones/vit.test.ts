import { initBackend } from '../../../src/engine/backend.js';
import { tf, type Tensor, type Variable } from '../../../src/engine/tf.js';
import { manualSeed } from '../../../src/engine/random.js';
import { BACKBONES, MAEViT, VisionTransformer, sincosPositionEmbedding } from '../../../src/models/backbones/index.js';

const tiny = { embed_dims: 16, num_layers: 2, num_heads: 2, feedforward_channels: 32 };

describe('VisionTransformer family', () => {
  beforeAll(async () => {
    await initBackend('wasm', { log: () => {} });
  });

  test('MMSelfSup parameter names, arch table and output shapes (NHWC patches + cls token)', () => {
    const vit = BACKBONES.build({ type: 'VisionTransformer', arch: tiny, img_size: 16, patch_size: 4, out_indices: [0, 1] }) as VisionTransformer;
    const names = vit.namedParameters().map(([n]) => n);
    // PyTorch order: a module's own parameters first, then its children's.
    expect(names.slice(0, 4)).toEqual(['cls_token', 'pos_embed', 'patch_embed.projection.weight', 'patch_embed.projection.bias']);
    expect(names).toContain('layers.1.attn.qkv.weight');
    expect(names).toContain('layers.0.ffn.layers.0.0.weight');
    expect(names).toContain('layers.0.ffn.layers.1.bias');
    expect(names.slice(-2)).toEqual(['ln1.weight', 'ln1.bias']);
    const outs = vit.forward(tf.zeros([2, 16, 16, 3]));
    expect(outs.map((o) => (o as Tensor[]).map((t) => t.shape))).toEqual([[[2, 4, 4, 16], [2, 16]], [[2, 4, 4, 16], [2, 16]]]);
    const b = BACKBONES.build({ type: 'VisionTransformer', arch: 'b' });
    expect(b.numParameters()).toBe(86_567_656 - 769_000); // timm vit_base_patch16_224 (86,567,656) minus its 768x1000 head
    b.dispose();
  });

  test('2-D sin-cos position embedding follows torch.meshgrid ij order and stays frozen', () => {
    const pe = sincosPositionEmbedding([2, 2], 8, true).arraySync() as number[][][];
    expect(pe[0][0]).toEqual(new Array(8).fill(0)); // cls
    // token m=1 -> grid_w = 0 (m div h), grid_h = 1 (m mod h); omega = [1, 1e-2]
    const t1 = pe[0][2];
    expect(t1.slice(0, 4)).toEqual([0, 0, 1, 1]);
    expect(t1[4]).toBeCloseTo(Math.sin(1), 6);
    expect(t1[5]).toBeCloseTo(Math.sin(0.01), 6);
    const vit = BACKBONES.build({ type: 'VisionTransformer', arch: tiny, img_size: 8, patch_size: 4 }) as VisionTransformer;
    expect(vit.posEmbed.trainable).toBe(false);
    expect(vit.trainableParameters().includes(vit.posEmbed as Variable)).toBe(false);
  });

  test('frozen_stages and stop_grad_conv1 freeze the embedding and the first layers', () => {
    const vit = BACKBONES.build({ type: 'VisionTransformer', arch: tiny, img_size: 8, patch_size: 4, frozen_stages: 1, stop_grad_conv1: true }) as VisionTransformer;
    const frozen = vit.namedParameters().filter(([, v]) => !v.trainable).map(([n]) => n);
    expect(frozen).toEqual(expect.arrayContaining(['patch_embed.projection.weight', 'cls_token', 'pos_embed', 'layers.0.attn.qkv.weight']));
    expect(frozen.some((n) => n.startsWith('layers.1'))).toBe(false);
  });

  test('MaskFeatViT replaces masked patches by mask_token', () => {
    const vit = BACKBONES.build({ type: 'MaskFeatViT', arch: tiny, img_size: 8, patch_size: 4, output_cls_token: false }) as VisionTransformer;
    const x = tf.randomNormal([1, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const none = vit.forward(x, tf.zeros([1, 4]))[0] as Tensor;
    const plain = vit.forward(x)[0] as Tensor;
    expect(tf.max(tf.abs(tf.sub(none, plain))).dataSync()[0]).toBe(0);
    const masked = vit.forward(x, tf.tensor2d([[1, 0, 0, 0]]))[0] as Tensor;
    expect(tf.max(tf.abs(tf.sub(masked, plain))).dataSync()[0]).toBeGreaterThan(0);
    expect(() => (BACKBONES.build({ type: 'VisionTransformer', arch: tiny, img_size: 8, patch_size: 4 }) as VisionTransformer).forward(x, tf.zeros([1, 4]))).toThrow(/mask_token/);
  });

  test('MAEViT keeps (1 - mask_ratio) of the patches and trains through the gather', () => {
    manualSeed(3);
    const mae = BACKBONES.build({ type: 'MAEViT', arch: tiny, img_size: 16, patch_size: 4, mask_ratio: 0.75 }) as MAEViT;
    const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const { latent, mask, idsRestore } = mae.forwardMasked(x);
    expect(latent.shape).toEqual([2, 1 + 4, 16]);
    expect(Array.from(tf.sum(mask, 1).dataSync())).toEqual([12, 12]);
    expect([...(idsRestore.arraySync() as number[][])[0]].sort((a, b) => a - b)).toEqual([...Array(16).keys()]);
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(mae.forwardMasked(x).latent)) as tf.Scalar, mae.trainableParameters());
    expect(Object.keys(grads).length).toBe(mae.trainableParameters().length);
    expect(tf.sum(tf.abs(grads[mae.patchEmbed.projection.weight.name])).dataSync()[0]).toBeGreaterThan(0);
  });
});
