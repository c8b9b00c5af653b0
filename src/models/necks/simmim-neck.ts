import { ConfigError } from '../../errors.js';
import { defineComponent, REQUIRED } from '../../registry/index.js';
import { Module } from '../../engine/module.js';
import { Conv2d } from '../../engine/layers/conv2d.js';
import { Sequential } from '../../engine/layers/container.js';
import { tf, type Tensor, type Tensor4D } from '../../engine/tf.js';

/**
 * torch.nn.PixelShuffle(r) on NHWC: `[N, h, w, C·r²]` -> `[N, h·r, w·r, C]`, input channel
 * c·r² + i·r + j going to output channel c at (h·r + i, w·r + j), as PyTorch orders NCHW channels
 * (tf.depthToSpace orders them (i, j, c) instead).
 */
export class PixelShuffle extends Module {
  constructor(readonly upscaleFactor: number) {
    super();
  }

  forward(x: Tensor4D): Tensor4D {
    const [n, h, w, cc] = x.shape;
    const r = this.upscaleFactor;
    const c = cc / (r * r);
    return tf.reshape(tf.transpose(tf.reshape(x, [n, h, w, c, r, r]), [0, 1, 4, 2, 5, 3]), [n, h * r, w * r, c]) as Tensor4D;
  }
}

/**
 * MMSelfSup SimMIMNeck: `decoder` = Conv2d(in_channels, encoder_stride²·3, 1) then
 * PixelShuffle(encoder_stride), mapping the last stage's features back to image pixels.
 * `[[N, h, w, C]]` -> `[N, h·s, w·s, 3]`.
 */
export class SimMIMNeck extends Module {
  readonly decoder: Sequential;

  constructor(
    readonly inChannels: number,
    readonly encoderStride: number,
  ) {
    super();
    this.decoder = this.registerModule('decoder', new Sequential(new Conv2d(inChannels, encoderStride ** 2 * 3, 1), new PixelShuffle(encoderStride)));
  }

  forward(inputs: Tensor[] | Tensor4D): Tensor4D {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor4D;
    if (x.shape[3] !== this.inChannels) throw new ConfigError(`SimMIMNeck: in_channels ${this.inChannels} must equal the backbone's output channels ${x.shape[3]}`);
    return this.decoder.forward(x) as Tensor4D;
  }
}

export const simMIMNeckEntry = defineComponent({
  type: 'SimMIMNeck',
  args: { in_channels: REQUIRED as unknown as number, encoder_stride: REQUIRED as unknown as number, init_cfg: undefined as unknown },
  build: (a) => {
    for (const k of ['in_channels', 'encoder_stride'] as const) {
      if (!Number.isInteger(a[k]) || a[k] < 1) throw new ConfigError(`SimMIMNeck: ${k} must be a positive integer, got ${JSON.stringify(a[k])}`);
    }
    return new SimMIMNeck(a.in_channels, a.encoder_stride) as never;
  },
});
