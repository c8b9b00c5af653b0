import { Module } from '../engine/module.js';
import { Conv2d } from '../engine/layers/conv2d.js';
import { Sequential } from '../engine/layers/container.js';
import { tf, type Tensor } from '../engine/tf.js';
import { fromTorch } from '../engine/torch-layout.js';
import { ConfigError } from '../errors.js';

/**
 * MMSelfSup `Sobel` (DeepCluster/ODC `with_sobel`): a frozen 1x1 conv to grey (weights 1/3, bias 0),
 * then a frozen 3x3 conv (padding 1) with the horizontal and vertical Sobel kernels: NHWC
 * `[N, H, W, 3]` -> `[N, H, W, 2]`. State-dict names `sobel.0.*`, `sobel.1.*` as PyTorch's.
 */
export class Sobel extends Module {
  readonly sobel: Sequential;

  constructor() {
    super();
    const grayscale = new Conv2d(3, 1, 1);
    const filter = new Conv2d(1, 2, 3, { padding: 1 });
    tf.tidy(() => {
      grayscale.weight.assign(tf.fill(grayscale.weight.shape, 1 / 3));
      grayscale.bias!.assign(tf.zeros([1]));
      const k = [1, 0, -1, 2, 0, -2, 1, 0, -1, 1, 2, 1, 0, 0, 0, -1, -2, -1];
      filter.weight.assign(fromTorch(tf.tensor4d(k, [2, 1, 3, 3]), 'conv'));
      filter.bias!.assign(tf.zeros([2]));
    });
    this.sobel = this.registerModule('sobel', new Sequential(grayscale, filter));
    this.sobel.requiresGrad(false);
  }

  forward(x: Tensor): Tensor {
    return this.sobel.forward(x) as Tensor;
  }
}

/**
 * The Sobel layer hands the backbone 2 channels (gradients) and takes 3 (RGB): with it the backbone must take 2.
 * Without it the backbone takes the images as they are (3 for RGB, 1 for grey data such as Fashion-MNIST),
 * which only the data knows, so only 2, the Sobel's count (a Sobel config with the layer switched off), is refused.
 */
export function checkSobelChannels(owner: string, withSobel: boolean, backbone: unknown): void {
  const have = (backbone as { in_channels?: number }).in_channels ?? 3;
  if (withSobel && have !== 2) {
    throw new ConfigError(`${owner}: with_sobel=True gives the backbone 2 channels but model.backbone.in_channels is ${have}; set model.backbone.in_channels=2 or model.with_sobel=False`);
  }
  if (!withSobel && have === 2) {
    throw new ConfigError(
      `${owner}: with_sobel=False gives the backbone the images' own channels (3 for RGB) but model.backbone.in_channels is 2, the Sobel layer's output; ` +
        'set model.backbone.in_channels to the images\' channels or model.with_sobel=True',
    );
  }
}
