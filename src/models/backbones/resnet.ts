import { ConfigError } from '../../errors.js';
import { checkArgs } from '../../registry/registry.js';
import { assignInit, constant, kaimingNormal } from '../../engine/init.js';
import { Module } from '../../engine/module.js';
import { BatchNorm } from '../../engine/layers/batch-norm.js';
import { ReLU } from '../../engine/layers/activation.js';
import { Sequential } from '../../engine/layers/container.js';
import { Conv2d } from '../../engine/layers/conv2d.js';
import { buildNorm, type NormCfg } from '../../engine/layers/norm.js';
import { MaxPool2d } from '../../engine/layers/pooling.js';
import { tf, type Tensor4D } from '../../engine/tf.js';
import { BasicBlock, Bottleneck, makeResLayer, type BlockClass } from './resnet-blocks.js';

/** MMSelfSup 0.x ResNet arguments (snake_case as in configs). */
export interface ResNetArgs {
  depth: number;
  in_channels?: number;
  stem_channels?: number;
  base_channels?: number;
  expansion?: number | null;
  num_stages?: number;
  strides?: number[];
  dilations?: number[];
  /** 0 = stem output (after conv1/bn1/relu), i = stage i. Default [4]. */
  out_indices?: number[];
  style?: 'pytorch' | 'caffe';
  deep_stem?: boolean;
  avg_down?: boolean;
  frozen_stages?: number;
  conv_cfg?: null;
  norm_cfg?: NormCfg;
  norm_eval?: boolean;
  with_cp?: boolean;
  zero_init_residual?: boolean;
  drop_path_rate?: number;
  init_cfg?: unknown;
  /** ResNeXt. */
  groups?: number;
  width_per_group?: number;
}

export const RESNET_ARG_NAMES = [
  'depth', 'in_channels', 'stem_channels', 'base_channels', 'expansion', 'num_stages', 'strides', 'dilations', 'out_indices', 'style',
  'deep_stem', 'avg_down', 'frozen_stages', 'conv_cfg', 'norm_cfg', 'norm_eval', 'with_cp', 'zero_init_residual', 'drop_path_rate', 'init_cfg',
] as const;

const ARCH: Record<number, [BlockClass, number[]]> = {
  18: [BasicBlock, [2, 2, 2, 2]],
  34: [BasicBlock, [3, 4, 6, 3]],
  50: [Bottleneck, [3, 4, 6, 3]],
  101: [Bottleneck, [3, 4, 23, 3]],
  152: [Bottleneck, [3, 8, 36, 3]],
};

/**
 * MMSelfSup's ResNet backbone (mmcls ResNet with out_indices 0 = stem). Input NHWC `[N, H, W, C]`;
 * output: one NHWC feature map per out_index (stage i has base_channels·expansion·2^(i-1) channels).
 * Variants: `cifar` = 3×3 stride-1 stem without max-pool (ResNet_CIFAR); `blockOverride` for ResNeXt.
 */
export class ResNet extends Module {
  readonly outIndices: number[];
  readonly frozenStages: number;
  readonly normEval: boolean;
  readonly deepStem: boolean;
  readonly cifar: boolean;
  readonly stageNames: string[] = [];
  readonly stages: Sequential[] = [];
  readonly stem?: Sequential;
  readonly conv1?: Conv2d;
  readonly bn1?: Module;
  readonly maxpool?: MaxPool2d;
  /** Output channels of each out_index, in order. */
  readonly outChannels: number[];

  constructor(args: ResNetArgs, options: { typeName?: string; cifar?: boolean; groups?: number; widthPerGroup?: number } = {}) {
    super();
    const type = options.typeName ?? 'ResNet';
    const arch = ARCH[args.depth];
    if (!arch) throw new ConfigError(`${type}: invalid depth ${args.depth}; choose one of ${Object.keys(ARCH).join(', ')}`);
    const [block, allBlocks] = arch;
    const inChannels = args.in_channels ?? 3;
    const stemChannels = args.stem_channels ?? 64;
    const baseChannels = args.base_channels ?? 64;
    const expansion = args.expansion ?? (block === BasicBlock ? 1 : 4);
    const numStages = args.num_stages ?? 4;
    const strides = args.strides ?? [1, 2, 2, 2];
    const dilations = args.dilations ?? [1, 1, 1, 1];
    const normCfg: NormCfg = args.norm_cfg ?? { type: 'BN', requires_grad: true };
    if (numStages < 1 || numStages > 4) throw new ConfigError(`${type}: num_stages must be 1..4, got ${numStages}`);
    if (strides.length < numStages || dilations.length < numStages) throw new ConfigError(`${type}: strides and dilations need ${numStages} entries`);
    if (args.conv_cfg) throw new ConfigError(`${type}: conv_cfg is not supported (use null)`);
    this.outIndices = args.out_indices ?? [4];
    for (const i of this.outIndices) if (i < 0 || i > numStages) throw new ConfigError(`${type}: out_indices must be in 0..${numStages}, got ${i}`);
    this.frozenStages = args.frozen_stages ?? -1;
    this.normEval = args.norm_eval ?? false;
    this.deepStem = args.deep_stem ?? false;
    this.cifar = options.cifar ?? false;
    if (this.cifar && this.deepStem) throw new ConfigError(`${type}: deep_stem is not supported`);

    if (this.deepStem) {
      const half = stemChannels / 2;
      const conv = (i: number, o: number, s: number) => new Conv2d(i, o, 3, { stride: s, padding: 1, bias: false });
      this.stem = this.registerModule(
        'stem',
        new Sequential(
          conv(inChannels, half, 2), buildNorm(normCfg, half).layer, new ReLU(),
          conv(half, half, 1), buildNorm(normCfg, half).layer, new ReLU(),
          conv(half, stemChannels, 1), buildNorm(normCfg, stemChannels).layer, new ReLU(),
        ),
      );
    } else {
      const [k, s, p] = this.cifar ? [3, 1, 1] : [7, 2, 3];
      this.conv1 = this.registerModule('conv1', new Conv2d(inChannels, stemChannels, k, { stride: s, padding: p, bias: false }));
      this.bn1 = this.registerModule('bn1', buildNorm(normCfg, stemChannels).layer);
    }
    if (!this.cifar) this.maxpool = new MaxPool2d(3, 2, 1);

    const stageBlocks = allBlocks.slice(0, numStages);
    const totalBlocks = stageBlocks.reduce((a, b) => a + b, 0);
    const dpr = Array.from({ length: totalBlocks }, (_, i) => (totalBlocks > 1 ? ((args.drop_path_rate ?? 0) * i) / (totalBlocks - 1) : 0));
    let inC = stemChannels;
    let outC = baseChannels * expansion;
    const channels = [stemChannels];
    let used = 0;
    for (let i = 0; i < numStages; i++) {
      const layer = makeResLayer(block, stageBlocks[i], {
        inChannels: inC, outChannels: outC, expansion, stride: strides[i], dilation: dilations[i], style: args.style ?? 'pytorch',
        normCfg, avgDown: args.avg_down ?? false, dropPathRates: dpr.slice(used, used + stageBlocks[i]),
        groups: options.groups, widthPerGroup: options.widthPerGroup, baseChannels,
      });
      used += stageBlocks[i];
      const name = `layer${i + 1}`;
      this.stageNames.push(name);
      this.stages.push(this.registerModule(name, layer));
      channels.push(outC);
      inC = outC;
      outC *= 2;
    }
    this.outChannels = this.outIndices.map((i) => channels[i]);
    this.initWeights(args.zero_init_residual ?? false);
    this.train(true);
  }

  /** mmselfsup init_cfg: Kaiming (fan_out, relu, normal) convs, BN weight 1 / bias 0; zero_init_residual. */
  private initWeights(zeroInitResidual: boolean): void {
    for (const [, m] of this.namedModules()) {
      if (m instanceof Conv2d) assignInit(m.weight, kaimingNormal(m.weight.shape, 'conv', { mode: 'fan_out', nonlinearity: 'relu' }));
    }
    if (zeroInitResidual) {
      for (const [, m] of this.namedModules()) {
        if ((m instanceof Bottleneck || m instanceof BasicBlock) && m.lastNorm instanceof BatchNorm && m.lastNorm.weight) {
          assignInit(m.lastNorm.weight, constant(m.lastNorm.weight.shape, 0));
        }
      }
    }
  }

  /** x `[N, H, W, C]` -> feature maps for out_indices, each `[N, h, w, c]`. */
  forward(x: Tensor4D): Tensor4D[] {
    const outs: Tensor4D[] = [];
    let y = this.stem ? (this.stem.forward(x) as Tensor4D) : tf.relu((this.bn1!.forward as (t: Tensor4D) => Tensor4D).call(this.bn1, this.conv1!.forward(x)));
    if (this.outIndices.includes(0)) outs.push(y);
    if (this.maxpool) y = this.maxpool.forward(y);
    this.stages.forEach((stage, i) => {
      y = stage.forward(y) as Tensor4D;
      if (this.outIndices.includes(i + 1)) outs.push(y);
    });
    return outs;
  }

  /** PyTorch `train(mode)`: frozen stages stay in eval; norm_eval keeps every BatchNorm in eval. */
  override train(mode = true): this {
    super.train(mode);
    this.freezeStages();
    if (mode && this.normEval) for (const [, m] of this.namedModules()) if (m instanceof BatchNorm) m.training = false;
    return this;
  }

  private freezeStages(): void {
    if (this.frozenStages < 0) return;
    const frozen: Module[] = this.stem ? [this.stem] : [this.conv1!, this.bn1!];
    for (let i = 1; i <= this.frozenStages && i <= this.stages.length; i++) frozen.push(this.stages[i - 1]);
    for (const m of frozen) {
      m.eval();
      m.requiresGrad(false);
    }
  }
}

/** Builder for the registry: checks MMSelfSup's argument names. */
export function buildResNet(args: Record<string, unknown>): ResNet {
  checkArgs('ResNet', args, RESNET_ARG_NAMES);
  return new ResNet(args as unknown as ResNetArgs);
}

/** ResNetV1d = ResNet with deep_stem and avg_down. */
export function buildResNetV1d(args: Record<string, unknown>): ResNet {
  checkArgs('ResNetV1d', args, RESNET_ARG_NAMES);
  return new ResNet({ ...(args as unknown as ResNetArgs), deep_stem: true, avg_down: true }, { typeName: 'ResNetV1d' });
}

/** ResNet_CIFAR: 3×3 stride-1 stem, no max-pool (for 32×32 images). */
export function buildResNetCifar(args: Record<string, unknown>): ResNet {
  checkArgs('ResNet_CIFAR', args, RESNET_ARG_NAMES);
  return new ResNet(args as unknown as ResNetArgs, { typeName: 'ResNet_CIFAR', cifar: true });
}

/** ResNeXt (mmcls): Bottleneck with grouped 3×3 convs; groups (32) × width_per_group (4). */
export function buildResNeXt(args: Record<string, unknown>): ResNet {
  checkArgs('ResNeXt', args, [...RESNET_ARG_NAMES, 'groups', 'width_per_group']);
  const a = args as unknown as ResNetArgs;
  if (a.depth === 18 || a.depth === 34) throw new ConfigError('ResNeXt: depth must be 50, 101 or 152');
  return new ResNet(a, { typeName: 'ResNeXt', groups: a.groups ?? 32, widthPerGroup: a.width_per_group ?? 4 });
}
