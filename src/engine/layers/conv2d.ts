import { torchDefaultBias, torchDefaultWeight } from '../init.js';
import { Module } from '../module.js';
import { conv2d, pair, type Padding } from '../ops/conv.js';
import { tf, type Tensor4D, type Variable } from '../tf.js';

export interface Conv2dArgs {
  stride?: number | [number, number];
  padding?: Padding;
  dilation?: number | [number, number];
  groups?: number;
  bias?: boolean;
}

/**
 * torch.nn.Conv2d on NHWC tensors. Parameters: `weight` (HWIO `[kh, kw, Cin/groups, Cout]`,
 * OIHW in PyTorch files), `bias` `[Cout]` when bias=true. Default init = PyTorch's.
 */
export class Conv2d extends Module {
  readonly weight: Variable;
  readonly bias: Variable | null;
  readonly stride: [number, number];
  readonly padding: Padding;
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number | [number, number],
    args: Conv2dArgs = {},
  ) {
    super();
    this.stride = pair(args.stride ?? 1);
    this.padding = args.padding ?? 0;
    this.dilation = pair(args.dilation ?? 1);
    this.groups = args.groups ?? 1;
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new Error(`Conv2d: in_channels ${inChannels} and out_channels ${outChannels} must be divisible by groups ${this.groups}`);
    }
    const [kh, kw] = pair(kernelSize);
    const shape = [kh, kw, inChannels / this.groups, outChannels];
    this.weight = this.registerParameter('weight', torchDefaultWeight(shape, 'conv'), { layout: 'conv' });
    this.bias = args.bias === false ? null : this.registerParameter('bias', torchDefaultBias(outChannels, kh * kw * (inChannels / this.groups)));
  }

  /** x `[N, H, W, Cin]` -> `[N, Ho, Wo, Cout]`. */
  forward(x: Tensor4D): Tensor4D {
    const y = conv2d(x, this.weight as unknown as Tensor4D, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
    return this.bias ? (tf.add(y, this.bias) as Tensor4D) : y;
  }
}
