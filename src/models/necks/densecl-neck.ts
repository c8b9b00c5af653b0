import { checkArgs, defineComponent } from '../../registry/index.js';
import { ConfigError } from '../../errors.js';
import type { ListModule } from '../algorithms/base.js';
import { Module } from '../../engine/module.js';
import { ReLU } from '../../engine/layers/activation.js';
import { Sequential } from '../../engine/layers/container.js';
import { Conv2d } from '../../engine/layers/conv2d.js';
import { Linear } from '../../engine/layers/linear.js';
import { AdaptiveAvgPool2d } from '../../engine/layers/pooling.js';
import { tf, type Tensor, type Tensor4D } from '../../engine/tf.js';

/**
 * MMSelfSup `DenseCLNeck` (Wang et al. 2021, https://arxiv.org/abs/2011.09157): a global and a
 * dense projection in parallel. Global: avgpool -> `mlp` (Linear-ReLU-Linear). Dense: [adaptive
 * avgpool to `num_grid`²] -> `mlp2` (1×1 Conv-ReLU-Conv) on every position.
 * Input `[[N, H, W, C]]` (exactly one backbone output); output
 * `[global [N, D], dense [N, S², D], dense pooled [N, D]]` with S² = H·W (or num_grid²); the dense
 * features are channels-last, PyTorch's `[N, D, S²]` transposed, positions in row-major order.
 */
export class DenseCLNeck extends Module {
  readonly mlp: Sequential;
  readonly mlp2: Sequential;
  private readonly pool: AdaptiveAvgPool2d | null;

  constructor(args: Record<string, unknown>) {
    super();
    checkArgs('DenseCLNeck', args, ['in_channels', 'hid_channels', 'out_channels', 'num_grid', 'init_cfg']);
    for (const k of ['in_channels', 'hid_channels', 'out_channels']) {
      if (!(Number.isInteger(args[k]) && (args[k] as number) > 0)) throw new ConfigError(`DenseCLNeck: ${k} must be a positive integer, got ${JSON.stringify(args[k])}`);
    }
    const numGrid = args.num_grid as number | null | undefined;
    if (numGrid !== undefined && numGrid !== null && !(Number.isInteger(numGrid) && numGrid > 0)) {
      throw new ConfigError(`DenseCLNeck: num_grid must be a positive integer or None, got ${JSON.stringify(numGrid)}`);
    }
    if (args.init_cfg !== undefined && args.init_cfg !== null) throw new ConfigError('DenseCLNeck: init_cfg is not supported (MMSelfSup leaves it None: PyTorch default init)');
    const [inC, hid, out] = [args.in_channels, args.hid_channels, args.out_channels] as number[];
    this.mlp = this.registerModule('mlp', new Sequential(new Linear(inC, hid), new ReLU(), new Linear(hid, out)));
    this.pool = numGrid ? new AdaptiveAvgPool2d(numGrid) : null;
    this.mlp2 = this.registerModule('mlp2', new Sequential(new Conv2d(inC, hid, 1), new ReLU(), new Conv2d(hid, out, 1)));
  }

  forward(inputs: Tensor[]): Tensor[] {
    if (inputs.length !== 1) throw new ConfigError(`DenseCLNeck takes one backbone output (out_indices of length 1), got ${inputs.length}`);
    const x = inputs[0] as Tensor4D;
    const n = x.shape[0];
    const global = this.mlp.forward(tf.mean(x, [1, 2])) as Tensor;
    const grid = this.mlp2.forward(this.pool ? this.pool.forward(x) : x) as Tensor4D;
    const d = grid.shape[3];
    return [global, tf.reshape(grid, [n, -1, d]), tf.mean(grid, [1, 2])];
  }
}

export const denseCLNeckEntry = defineComponent({ type: 'DenseCLNeck', build: (a) => new DenseCLNeck(a) as unknown as ListModule });
