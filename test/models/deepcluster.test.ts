import { initBackend } from '../../src/engine/backend.js';
import { tf } from '../../src/engine/tf.js';
import { ConfigError } from '../../src/errors.js';
import { buildModel } from '../../src/models/index.js';
import type { DeepCluster } from '../../src/models/algorithms/deepcluster.js';
import type { Classification } from '../../src/models/algorithms/classification.js';

const backbone = (inChannels: number) => ({ type: 'ResNet_CIFAR', depth: 18, in_channels: inChannels, stem_channels: 4, base_channels: 2, out_indices: [4] });
const head = { type: 'ClsHead', with_avg_pool: false, in_channels: 16, num_classes: 3 };
const dc = (extra: Record<string, unknown> = {}) => ({ type: 'DeepCluster', backbone: backbone(2), neck: { type: 'AvgPool2dNeck' }, head, ...extra });

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

test('with_sobel and the backbone in_channels must agree before training (one-line config error naming both keys)', () => {
  // MMSelfSup builds these (count-params works) and fails at the first forward
  const check = (cfg: Record<string, unknown>) => () => buildModel(cfg).checkDataset(8);
  expect(check(dc({ backbone: backbone(3) }))).toThrow(ConfigError);
  expect(check(dc({ backbone: backbone(3) }))).toThrow(/with_sobel=True .* model.backbone.in_channels is 3; set model.backbone.in_channels=2/);
  expect(check(dc({ with_sobel: false }))).toThrow(/with_sobel=False gives the backbone the images' own channels \(3 for RGB\) but model.backbone.in_channels is 2/);
  // without Sobel the backbone takes the images as they are: grey (1 channel) or RGB
  expect(check(dc({ with_sobel: false, backbone: backbone(1) }))).not.toThrow();
  expect(check(dc({ with_sobel: false, backbone: backbone(3) }))).not.toThrow();
  expect(check({ type: 'Classification', with_sobel: true, backbone: backbone(3), head })).toThrow(/Classification: with_sobel=True/);
  expect(check(dc())).not.toThrow();
});

test('set_reweight: weights (count + 1e-10)^-pow normalised to 1 go into the head loss; an empty cluster weighs most', () => {
  const m = buildModel(dc()) as unknown as DeepCluster;
  expect([...m.lossWeight]).toEqual([1 / 3, 1 / 3, 1 / 3].map(Math.fround));
  m.setReweight([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2], 0.5);
  const inv = [1 / 2, 1 / Math.sqrt(12), 1];
  const sum = inv.reduce((a, b) => a + b);
  inv.forEach((v, i) => expect(m.lossWeight[i]).toBeCloseTo(v / sum, 6));
  m.setReweight([0, 0, 1, 1], 1);
  expect(m.lossWeight[2]).toBeGreaterThan(0.99);
  // the head's loss is Σ w[y]·nll / Σ w[y]: equal per-sample losses give that loss whatever the weights
  const logits = tf.tensor2d([[0, 0, 0], [0, 0, 0]]);
  const loss = m.head.loss([logits], tf.tensor1d([0, 1], 'int32')).loss.dataSync()[0];
  expect(loss).toBeCloseTo(Math.log(3), 5);
});

test('Classification with_sobel runs images through the frozen Sobel layer (edges: zero inside a constant image, not at its zero-padded border)', () => {
  const m = buildModel({ type: 'Classification', with_sobel: true, backbone: backbone(2), head: { ...head, with_avg_pool: true } }) as unknown as Classification;
  m.train(false);
  const grey = m.forwardTest([tf.fill([2, 8, 8, 3], 0.7)]).head4.dataSync();
  const black = m.forwardTest([tf.zeros([2, 8, 8, 3])]).head4.dataSync();
  // zero padding makes the border of a constant image an edge: they differ there, but not in the interior
  const sobel = m.sobelLayer!.forward(tf.fill([1, 8, 8, 3], 0.7)).dataSync();
  expect(Math.abs(sobel[(3 * 8 + 3) * 2])).toBeLessThan(1e-6);
  expect(Math.abs(sobel[0])).toBeGreaterThan(0.1);
  expect(grey).not.toEqual(black);
  expect(m.namedParameters().filter(([n, v]) => n.startsWith('sobel_layer.') && v.trainable)).toEqual([]);
});
