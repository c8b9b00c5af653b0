import { Module } from '../../engine/module.js';
import { Sequential } from '../../engine/layers/container.js';
import { Conv2d } from '../../engine/layers/conv2d.js';
import { DropPath } from '../../engine/layers/dropout.js';
import { buildNorm, type NormCfg } from '../../engine/layers/norm.js';
import { AvgPool2d } from '../../engine/layers/pooling.js';
import { tf, type Tensor4D } from '../../engine/tf.js';

/** What every residual block of mmcls's ResNet family is built from. */
export interface BlockArgs {
  inChannels: number;
  outChannels: number;
  expansion: number;
  stride: number;
  dilation: number;
  downsample: Sequential | null;
  style: 'pytorch' | 'caffe';
  normCfg: NormCfg;
  dropPathRate: number;
  /** ResNeXt only. */
  groups?: number;
  widthPerGroup?: number;
  baseChannels?: number;
}

type Fwd = (x: Tensor4D) => Tensor4D;
const call = (m: Module, x: Tensor4D): Tensor4D => (m.forward as Fwd).call(m, x);

/** mmcls BasicBlock (expansion 1): conv1 3×3 (stride), bn1, conv2 3×3, bn2, + shortcut. */
export class BasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: Module;
  readonly conv2: Conv2d;
  readonly bn2: Module;
  readonly downsample: Sequential | null;
  readonly dropPath: DropPath;

  constructor(a: BlockArgs) {
    super();
    const mid = a.outChannels / a.expansion;
    this.conv1 = this.registerModule('conv1', new Conv2d(a.inChannels, mid, 3, { stride: a.stride, padding: a.dilation, dilation: a.dilation, bias: false }));
    this.bn1 = this.registerModule('bn1', buildNorm(a.normCfg, mid).layer);
    this.conv2 = this.registerModule('conv2', new Conv2d(mid, a.outChannels, 3, { padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', buildNorm(a.normCfg, a.outChannels).layer);
    this.downsample = a.downsample ? this.registerModule('downsample', a.downsample) : null;
    this.dropPath = this.registerModule('drop_path', new DropPath(a.dropPathRate));
  }

  /** The norm whose weight zero_init_residual zeroes. */
  get lastNorm(): Module {
    return this.bn2;
  }

  forward(x: Tensor4D): Tensor4D {
    const identity = this.downsample ? (this.downsample.forward(x) as Tensor4D) : x;
    let out = tf.relu(call(this.bn1, this.conv1.forward(x)));
    out = call(this.bn2, this.conv2.forward(out));
    return tf.relu(tf.add(this.dropPath.forward(out), identity)) as Tensor4D;
  }
}

/**
 * mmcls Bottleneck (expansion 4): conv1 1×1, conv2 3×3 (stride; groups for ResNeXt), conv3 1×1.
 * style 'pytorch' puts the stride on conv2, 'caffe' on conv1.
 */
export class Bottleneck extends Module {
  readonly conv1: Conv2d;
  readonly bn1: Module;
  readonly conv2: Conv2d;
  readonly bn2: Module;
  readonly conv3: Conv2d;
  readonly bn3: Module;
  readonly downsample: Sequential | null;
  readonly dropPath: DropPath;

  constructor(a: BlockArgs) {
    super();
    let mid = a.outChannels / a.expansion;
    const groups = a.groups ?? 1;
    if (groups !== 1) mid = Math.floor((groups * (a.widthPerGroup ?? 4) * mid) / (a.baseChannels ?? 64));
    const [s1, s2] = a.style === 'pytorch' ? [1, a.stride] : [a.stride, 1];
    this.conv1 = this.registerModule('conv1', new Conv2d(a.inChannels, mid, 1, { stride: s1, bias: false }));
    this.bn1 = this.registerModule('bn1', buildNorm(a.normCfg, mid).layer);
    this.conv2 = this.registerModule('conv2', new Conv2d(mid, mid, 3, { stride: s2, padding: a.dilation, dilation: a.dilation, groups, bias: false }));
    this.bn2 = this.registerModule('bn2', buildNorm(a.normCfg, mid).layer);
    this.conv3 = this.registerModule('conv3', new Conv2d(mid, a.outChannels, 1, { bias: false }));
    this.bn3 = this.registerModule('bn3', buildNorm(a.normCfg, a.outChannels).layer);
    this.downsample = a.downsample ? this.registerModule('downsample', a.downsample) : null;
    this.dropPath = this.registerModule('drop_path', new DropPath(a.dropPathRate));
  }

  get lastNorm(): Module {
    return this.bn3;
  }

  forward(x: Tensor4D): Tensor4D {
    const identity = this.downsample ? (this.downsample.forward(x) as Tensor4D) : x;
    let out = tf.relu(call(this.bn1, this.conv1.forward(x)));
    out = tf.relu(call(this.bn2, this.conv2.forward(out)));
    out = call(this.bn3, this.conv3.forward(out));
    return tf.relu(tf.add(this.dropPath.forward(out), identity)) as Tensor4D;
  }
}

export type BlockClass = typeof BasicBlock | typeof Bottleneck;

/**
 * mmcls ResLayer: a Sequential of blocks; the first gets the stride and, when the shape changes,
 * a `downsample` = [AvgPool (avg_down)], 1×1 conv, norm.
 */
export function makeResLayer(
  block: BlockClass,
  numBlocks: number,
  a: Omit<BlockArgs, 'downsample' | 'dropPathRate'> & { avgDown: boolean; dropPathRates: number[] },
): Sequential {
  let downsample: Sequential | null = null;
  if (a.stride !== 1 || a.inChannels !== a.outChannels) {
    const parts: Module[] = [];
    let convStride = a.stride;
    if (a.avgDown && a.stride !== 1) {
      convStride = 1;
      // ceil_mode=True, count_include_pad=False == 'same' pooling with k = s.
      parts.push(new AvgPool2d(a.stride, a.stride, 'same'));
    }
    parts.push(new Conv2d(a.inChannels, a.outChannels, 1, { stride: convStride, bias: false }), buildNorm(a.normCfg, a.outChannels).layer);
    downsample = new Sequential(...parts);
  }
  const blocks: Module[] = [new block({ ...a, downsample, dropPathRate: a.dropPathRates[0] ?? 0 })];
  for (let i = 1; i < numBlocks; i++) {
    blocks.push(new block({ ...a, inChannels: a.outChannels, stride: 1, downsample: null, dropPathRate: a.dropPathRates[i] ?? 0 }));
  }
  return new Sequential(...blocks);
}
