/**
 * The engine benchmarks' workloads: a backbone + linear classifier trained by plain SGD (lr 0.01) on
 * a fixed random NHWC batch, labels i mod classes; or (`algorithm`) a whole self-supervised step,
 * the algorithm's own loss on that batch. Each has its PyTorch twin in engine_torch.py
 * (tools/torch-reference.py's and tools/torch-mim-reference.py's modules, the same architecture and batch).
 */
import { Linear } from '../src/engine/layers/linear.js';
import { manualSeed } from '../src/engine/random.js';
import { tf, type Tensor, type Tensor4D, type Variable } from '../src/engine/tf.js';
import type { MAE } from '../src/models/algorithms/mae.js';
import { BACKBONES } from '../src/models/backbones/index.js';
import { buildModel } from '../src/models/index.js';
import { SGD } from '../src/runner/optim/sgd.js';

export interface Workload {
  name: string;
  title: string;
  batch: number;
  /** NHWC input shape per image. */
  image: [number, number, number];
  backbone: Record<string, unknown>;
  features: number;
  /** A whole algorithm step instead of backbone + classifier: MAE's loss with a fixed masking noise. */
  algorithm?: Record<string, unknown>;
}

/**
 * MAE with a ViT-tiny encoder (deit-tiny's 192-d, 12 layers, 3 heads) on 32² images, patch 4: the
 * encoder sees 16 of the 64 patches (mask_ratio 0.75), a 4-block 192-d decoder predicts every
 * patch, and the loss is the norm_pix MSE over the masked ones (MMSelfSup's MAE, as tools/torch-mim-reference.py).
 */
const MAE_VIT_TINY_32 = {
  type: 'MAE',
  backbone: { type: 'MAEViT', arch: { embed_dims: 192, num_layers: 12, num_heads: 3, feedforward_channels: 768 }, img_size: 32, patch_size: 4, mask_ratio: 0.75 },
  neck: { type: 'MAEPretrainDecoder', patch_size: 4, in_chans: 3, embed_dim: 192, decoder_embed_dim: 192, decoder_depth: 4, decoder_num_heads: 3, mlp_ratio: 4 },
  head: { type: 'MAEPretrainHead', norm_pix: true, patch_size: 4 },
};

export const WORKLOADS: Record<string, Workload> = {
  'resnet18-cifar': {
    name: 'resnet18-cifar',
    title: "ResNet-18-CIFAR, 32², batch 64 (SimCLR's 32 × 2 views)",
    batch: 64,
    image: [32, 32, 3],
    backbone: { type: 'ResNet_CIFAR', depth: 18 },
    features: 512,
  },
  'resnet18-narrow': {
    name: 'resnet18-narrow',
    title: 'narrow ResNet-18-CIFAR (w16, 1 channel), 28², batch 512 (Fashion-MNIST SimCLR: 256 × 2 views)',
    batch: 512,
    image: [28, 28, 1],
    backbone: { type: 'ResNet_CIFAR', depth: 18, in_channels: 1, stem_channels: 16, base_channels: 16 },
    features: 128,
  },
  resnet50: {
    name: 'resnet50',
    title: 'ResNet-50, 224², batch 8',
    batch: 8,
    image: [224, 224, 3],
    backbone: { type: 'ResNet', depth: 50 },
    features: 2048,
  },
  'vit-tiny': {
    name: 'vit-tiny',
    title: "ViT-tiny (deit-tiny), 224², patch 16, batch 8 (MAE's encoder on whole images)",
    batch: 8,
    image: [224, 224, 3],
    backbone: { type: 'VisionTransformer', arch: 'deit-tiny', img_size: 224, patch_size: 16 },
    features: 192,
  },
  'swin-tiny': {
    name: 'swin-tiny',
    title: "Swin-T, 192², window 6, batch 8 (SimMIM's encoder as its configs run it)",
    batch: 8,
    image: [192, 192, 3],
    backbone: { type: 'SwinTransformer', arch: 'tiny', img_size: 192, window_size: 6, drop_path_rate: 0 },
    features: 768,
  },
  'mae-vit-tiny': {
    name: 'mae-vit-tiny',
    title: 'MAE ViT-tiny, 32², patch 4, batch 32 (encoder on 16 of 64 patches, 192-d × 4 decoder, norm_pix loss)',
    batch: 32,
    image: [32, 32, 3],
    backbone: MAE_VIT_TINY_32.backbone,
    features: 0,
    algorithm: MAE_VIT_TINY_32,
  },
};

export interface BenchModel {
  loss(): Tensor;
  params: Variable[];
  /** ssl's SGD (lr 0.01, PyTorch's update rule; one fused kernel per parameter on the native engine). */
  sgd: { applyGradients(grads: Record<string, Tensor>): void };
  dispose(): void;
}

/** Features of the backbone's last output: global average of a feature map, or a ViT's class token. */
function pooled(out: unknown): Tensor {
  const first = (Array.isArray(out) ? out[out.length - 1] : out) as Tensor | Tensor[];
  const t = Array.isArray(first) ? first[first.length - 1] : first;
  return t.rank === 4 ? tf.mean(t, [1, 2]) : t;
}

/** Builds the workload on the active backend (seeded: the same weights on every engine). */
export function buildBenchModel(w: Workload, classes = 10): BenchModel {
  manualSeed(0);
  if (w.algorithm) return buildAlgorithmStep(w);
  const model = BACKBONES.build(w.backbone);
  model.train(true);
  const fc = new Linear(w.features, classes);
  const x = tf.randomNormal([w.batch, ...w.image], 0, 1, 'float32', 1) as Tensor4D;
  const labels = tf.oneHot(tf.tensor1d(Array.from({ length: w.batch }, (_, i) => i % classes), 'int32'), classes);
  const logits = () => fc.forward(pooled((model.forward as (x: Tensor) => unknown).call(model, x)));
  const params = [...model.trainableParameters(), ...fc.trainableParameters()] as Variable[];
  const sgd = new SGD([{ params: params.map((v) => ({ name: v.name, variable: v })), lr: 0.01, weight_decay: 0 }]);
  return {
    loss: () => tf.losses.softmaxCrossEntropy(labels, logits()),
    params,
    sgd: { applyGradients: (grads) => sgd.step(new Map(Object.entries(grads))) },
    dispose: () => {
      model.dispose();
      fc.dispose();
      x.dispose();
      labels.dispose();
    },
  };
}

/** A self-supervised algorithm's whole training step (MAE: masking, encoder, decoder, pixel loss). */
function buildAlgorithmStep(w: Workload): BenchModel {
  const model = buildModel(w.algorithm) as MAE;
  model.train(true);
  const x = tf.randomNormal([w.batch, ...w.image], 0, 1, 'float32', 1) as Tensor4D;
  // one fixed masking for every step (PyTorch draws its own: the cost does not depend on which patches)
  const noise = tf.randomUniform([w.batch, model.backbone.numPatches], 0, 1, 'float32', 2);
  const params = model.trainableParameters() as Variable[];
  const sgd = new SGD([{ params: params.map((v) => ({ name: v.name, variable: v })), lr: 0.01, weight_decay: 0 }]);
  return {
    loss: () => model.lossOf(x, noise).loss,
    params,
    sgd: { applyGradients: (grads) => sgd.step(new Map(Object.entries(grads))) },
    dispose: () => {
      model.dispose();
      x.dispose();
      noise.dispose();
    },
  };
}
