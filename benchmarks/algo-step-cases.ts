/**
 * The algorithms of the step-time benchmark (`algo-step-time.ts`): each one's MMSelfSup 0.x config
 * (as MMSelfSup resolves it, ../shared/data/mmselfsup-resolved) with the ResNet-50 swapped for the
 * CIFAR ResNet-18 and the neck's (or head's) 2048-channel input narrowed to its 512 channels, the memories sized
 * for a CIFAR-scale data set, and the batch its data pipeline would give for `n` images of `size`².
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Batch } from '../src/models/contracts.js';

type Cfg = Record<string, unknown>;
export type Shape = number[];

/** How the algorithm hands backbone outputs to its neck (for the neck probe). */
export type NeckFeed = 'each' | 'all' | 'pairs' | 'none';

export interface StepCase {
  name: string;
  /** The MMSelfSup config the model, hooks and optimizer come from. */
  config: string;
  model: Cfg;
  customHooks: Cfg[];
  optimizer: Cfg;
  optimizerConfig: Cfg;
  batch: Batch;
  /** Backbone calls with gradients, one input shape each (as the algorithm groups its views). */
  backboneCalls: Shape[];
  neckFeed: NeckFeed;
  /** Backbone calls of the momentum (key/target) encoder, no gradients. */
  keyCalls: Shape[];
  /** Extra work items this algorithm does and SimCLR does not (names of probes, see algo-step-probes.ts). */
  extras: string[];
}

export interface CaseOptions {
  /** Images per batch. */
  n: number;
  /** Image side (multi-crop small crops and RelativeLoc patches are `size / 2`). */
  size: number;
  /** Data-set size: memory-bank length (NPID, ODC, InterCLR). */
  samples: number;
  /** Clusters (ODC, DeepCluster, InterCLR; MMSelfSup's 10,000 on ImageNet). */
  clusters: number;
  /** Negatives drawn from the memory per sample (NPID, InterCLR). */
  negNum: number;
  /** The resolved MMSelfSup configs. */
  configDir: string;
}

const RESOLVED: Record<string, string> = {
  SimCLR: 'simclr/simclr_resnet50_8xb32-coslr-200e_in1k.py.json',
  'MoCo v1': 'mocov1/mocov1_resnet50_8xb32-steplr-200e_in1k.py.json',
  'MoCo v2': 'mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py.json',
  BYOL: 'byol/byol_resnet50_16xb256-coslr-200e_in1k.py.json',
  SimSiam: 'simsiam/simsiam_resnet50_8xb32-coslr-100e_in1k.py.json',
  'Barlow Twins': 'barlowtwins/barlowtwins_resnet50_8xb256-coslr-300e_in1k.py.json',
  SwAV: 'swav/swav_resnet50_8xb32-mcrop-2-6-coslr-200e_in1k-224-96.py.json',
  DenseCL: 'densecl/densecl_resnet50_8xb32-coslr-200e_in1k.py.json',
  NPID: 'npid/npid_resnet50_8xb32-steplr-200e_in1k.py.json',
  ODC: 'odc/odc_resnet50_8xb64-steplr-440e_in1k.py.json',
  DeepCluster: 'deepcluster/deepcluster-sobel_resnet50_8xb64-steplr-200e_in1k.py.json',
  'InterCLR-MoCo': 'interclr/interclr-moco_resnet50_8xb32-coslr-200e_in1k.py.json',
  RotationPred: 'rotation_pred/rotation-pred_resnet50_8xb16-steplr-70e_in1k.py.json',
  RelativeLoc: 'relative_loc/relative-loc_resnet50_8xb64-steplr-70e_in1k.py.json',
};
export const CASE_NAMES = Object.keys(RESOLVED);

/** Deep copy of `v` with `f` applied to every object (children first). */
function mapObjects(v: unknown, f: (o: Cfg) => Cfg): unknown {
  if (Array.isArray(v)) return v.map((x) => mapObjects(x, f));
  if (v && typeof v === 'object') return f(Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapObjects(x, f)])));
  return v;
}

/** MMSelfSup's ResNet-50 model at ResNet-18 (CIFAR stem) widths, one process, CIFAR-scale memories. */
function toResNet18(model: Cfg, o: CaseOptions): Cfg {
  const backbone = model.backbone as Cfg;
  const m = mapObjects(model, (x) => {
    const y = { ...x };
    if (y.type === 'SyncBN') y.type = 'BN';
    if (typeof y.type === 'string' && /Memory$/.test(y.type)) {
      y.length = o.samples;
      if (y.num_classes !== undefined) y.num_classes = o.clusters;
    }
    if (y.type === 'ClsHead' && y.num_classes === 10000) y.num_classes = o.clusters;
    return y;
  }) as Cfg;
  // the layers that take the backbone's 2048 channels (not a predictor's 2048-wide input)
  for (const k of ['neck', 'head']) {
    const part = m[k] as Cfg | undefined;
    if (part?.in_channels === 2048) m[k] = { ...part, in_channels: 512 };
  }
  // Barlow Twins' 8192-wide projector (138 M parameters on 512 inputs) with its LARS state and gradients
  // does not fit the engine's 4 GiB wasm heap: narrowed by the same factor as its input, to 2048
  const neck = m.neck as Cfg | undefined;
  if (neck?.hid_channels === 8192) {
    m.neck = { ...neck, hid_channels: 2048, out_channels: neck.out_channels === 8192 ? 2048 : neck.out_channels };
    if ((m.head as Cfg).in_channels === 8192) m.head = { ...(m.head as Cfg), in_channels: 2048 };
  }
  m.backbone = { type: 'ResNet_CIFAR', depth: 18, in_channels: backbone.in_channels ?? 3, out_indices: [4], norm_cfg: { type: 'BN' } };
  if (m.neg_num !== undefined) m.neg_num = o.negNum;
  if (m.num_classes !== undefined) m.num_classes = o.clusters;
  // InterCLR's semihard/semieasy pools: 10 % of ImageNet (128,000 of 1.28 M) -> 10 % of the data set
  for (const k of ['semihard_neg_pool_num', 'semieasy_neg_pool_num']) if (m[k] !== undefined) m[k] = Math.max(o.negNum, Math.round(o.samples / 10));
  return m;
}

function hooksFor(hooks: Cfg[] | null | undefined, o: CaseOptions): Cfg[] {
  return (hooks ?? []).map((h) => {
    const y = { ...h };
    if (y.type === 'SwAVHook') y.batch_size = o.n;
    if (y.clustering) y.clustering = { ...(y.clustering as Cfg), k: o.clusters };
    return y;
  });
}

/** Deterministic pseudo-random pixels / features in [-0.9, 0.9]. */
export function pattern(len: number, salt = 0): Float32Array {
  return Float32Array.from({ length: len }, (_, i) => Math.sin(0.37 * i + salt) * 0.9);
}

const view = (shape: Shape, salt: number) => ({ data: pattern(shape.reduce((a, b) => a * b, 1), salt), shape });

/** The step-time cases, in table order (SimCLR first: the reference). */
export function stepCases(o: CaseOptions, only?: Set<string>): StepCase[] {
  const { n, size } = o;
  const small = size / 2;
  const full = [n, size, size, 3];
  const idx = Int32Array.from({ length: n }, (_, i) => (i * 7919) % o.samples);
  const twoViews: Batch = { views: [view(full, 0), view(full, 1)] };
  const cases: Omit<StepCase, 'config' | 'model' | 'customHooks' | 'optimizer' | 'optimizerConfig'>[] = [
    { name: 'SimCLR', batch: twoViews, backboneCalls: [[2 * n, size, size, 3]], neckFeed: 'each', keyCalls: [], extras: [] },
    { name: 'MoCo v1', batch: twoViews, backboneCalls: [full], neckFeed: 'each', keyCalls: [full], extras: ['key encoder', 'queue contrast', 'enqueue'] },
    { name: 'MoCo v2', batch: twoViews, backboneCalls: [full], neckFeed: 'each', keyCalls: [full], extras: ['key encoder', 'queue contrast', 'enqueue'] },
    { name: 'BYOL', batch: twoViews, backboneCalls: [full, full], neckFeed: 'each', keyCalls: [full, full], extras: ['key encoder'] },
    { name: 'SimSiam', batch: twoViews, backboneCalls: [full, full], neckFeed: 'each', keyCalls: [], extras: [] },
    { name: 'Barlow Twins', batch: twoViews, backboneCalls: [full, full], neckFeed: 'each', keyCalls: [], extras: ['cross-correlation'] },
    {
      name: 'SwAV',
      batch: { views: [view(full, 0), view(full, 1), ...[2, 3, 4, 5, 6, 7].map((s) => view([n, small, small, 3], s))] },
      backboneCalls: [[2 * n, size, size, 3], [6 * n, small, small, 3]],
      neckFeed: 'all',
      keyCalls: [],
      extras: ['prototypes + Sinkhorn'],
    },
    { name: 'DenseCL', batch: twoViews, backboneCalls: [full], neckFeed: 'each', keyCalls: [full], extras: ['key encoder', 'queue contrast', 'dense queue contrast', 'enqueue', 'enqueue'] },
    { name: 'NPID', batch: { views: [view(full, 0)], idx }, backboneCalls: [full], neckFeed: 'each', keyCalls: [], extras: ['memory contrast', 'memory update'] },
    { name: 'ODC', batch: { views: [view(full, 0)], idx }, backboneCalls: [full], neckFeed: 'each', keyCalls: [], extras: ['memory update', 'memory hooks'] },
    {
      name: 'DeepCluster',
      batch: { views: [view(full, 0)], pseudo_label: Int32Array.from({ length: n }, (_, i) => (i * 7919) % o.clusters) },
      backboneCalls: [[n, size, size, 2]],
      neckFeed: 'each',
      keyCalls: [],
      extras: ['Sobel'],
    },
    {
      name: 'InterCLR-MoCo',
      batch: { ...twoViews, idx },
      backboneCalls: [full],
      neckFeed: 'each',
      keyCalls: [full],
      extras: ['key encoder', 'queue contrast', 'enqueue', 'inter sampling', 'memory contrast', 'memory update', 'memory hooks'],
    },
    {
      name: 'RotationPred',
      batch: { views: [view([4 * n, size, size, 3], 0)], rot_label: { data: Int32Array.from({ length: 4 * n }, (_, i) => i % 4), shape: [4 * n] } },
      backboneCalls: [[4 * n, size, size, 3]],
      neckFeed: 'none',
      keyCalls: [],
      extras: [],
    },
    {
      name: 'RelativeLoc',
      batch: { views: [view([8 * n, small, small, 6], 0)], patch_label: { data: Int32Array.from({ length: 8 * n }, (_, i) => i % 8), shape: [8 * n] } },
      backboneCalls: [[8 * n, small, small, 3], [8 * n, small, small, 3]],
      neckFeed: 'pairs',
      keyCalls: [],
      extras: [],
    },
  ];
  return cases
    .filter((c) => c.name === 'SimCLR' || !only || only.has(c.name))
    .map((c) => {
      const config = RESOLVED[c.name];
      const resolved = JSON.parse(readFileSync(join(o.configDir, config), 'utf8')) as Cfg;
      return {
        ...c,
        config,
        model: toResNet18(resolved.model as Cfg, o),
        customHooks: hooksFor(resolved.custom_hooks as Cfg[] | null, o),
        optimizer: resolved.optimizer as Cfg,
        optimizerConfig: (resolved.optimizer_config as Cfg | null) ?? {},
      };
    });
}
