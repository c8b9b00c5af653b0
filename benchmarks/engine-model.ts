/**
 * The engine benchmarks' workload: CIFAR-style ResNet-18 (ResNet_CIFAR, depth 18) + a 512→10
 * linear classifier on random NHWC 32×32 inputs, labels i mod 10, plain SGD (lr 0.01).
 */
import { Linear } from '../src/engine/layers/linear.js';
import { manualSeed } from '../src/engine/random.js';
import { tf, type Tensor, type Tensor4D, type Variable } from '../src/engine/tf.js';
import { BACKBONES, type ResNet } from '../src/models/backbones/index.js';

export interface BenchModel {
  /** Logits `[batch, 10]` of the fixed input. */
  logits(): Tensor;
  /** Softmax cross-entropy of the logits against the fixed labels (scalar). */
  loss(): Tensor;
  /** Trainable parameters of backbone and classifier. */
  params: Variable[];
  sgd: ReturnType<typeof tf.train.sgd>;
  dispose(): void;
}

/** Builds the workload on the active backend (seeded: the same weights on every backend). */
export function buildBenchModel(batch: number): BenchModel {
  manualSeed(0);
  const model = BACKBONES.build({ type: 'ResNet_CIFAR', depth: 18 }) as ResNet;
  const fc = new Linear(512, 10);
  const x = tf.randomNormal([batch, 32, 32, 3], 0, 1, 'float32', 1) as Tensor4D;
  const labels = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32'), 10);
  const logits = () => fc.forward(tf.mean(model.forward(x)[0], [1, 2]));
  return {
    logits,
    loss: () => tf.losses.softmaxCrossEntropy(labels, logits()),
    params: [...model.trainableParameters(), ...fc.trainableParameters()] as Variable[],
    sgd: tf.train.sgd(0.01),
    dispose: () => {
      model.dispose();
      fc.dispose();
      x.dispose();
      labels.dispose();
    },
  };
}
