import { ConfigError } from '../../errors.js';
import { Module } from '../../engine/module.js';
import { tf, type Tensor, type Tensor4D, type Variable } from '../../engine/tf.js';

/** DALL-E's Conv2d: parameters `w` (OIHW in files) and `b`, 'same' padding (odd kernels), stride 1. */
class DalleConv extends Module {
  readonly w: Variable;
  readonly b: Variable;
  constructor(nIn: number, nOut: number, kw: number) {
    super();
    // zeros: the weights always come from the tokenizer file
    this.w = this.registerParameter('w', tf.zeros([kw, kw, nIn, nOut]), { layout: 'conv', requiresGrad: false });
    this.b = this.registerParameter('b', tf.zeros([nOut]), { requiresGrad: false });
  }
  forward(x: Tensor4D): Tensor4D {
    return tf.add(tf.conv2d(x, this.w as unknown as Tensor4D, 1, 'same'), this.b) as Tensor4D;
  }
}

/** DALL-E's EncoderBlock: id_path (1×1 conv when n_in ≠ n_out) + (1 / n_layers²) · res_path (relu-conv ×4, n_out / 4 hidden). */
class EncoderBlock extends Module {
  readonly idPath: DalleConv | null;
  readonly res: DalleConv[];
  readonly postGain: number;
  constructor(nIn: number, nOut: number, nLayers: number) {
    super();
    const hid = nOut / 4;
    this.postGain = 1 / nLayers ** 2;
    this.idPath = nIn !== nOut ? this.registerModule('id_path', new DalleConv(nIn, nOut, 1)) : null;
    const resPath = this.registerModule('res_path', new (class ResPath extends Module {
      forward(): never {
        throw new Error('called through EncoderBlock');
      }
    })());
    this.res = [[nIn, hid, 3], [hid, hid, 3], [hid, hid, 3], [hid, nOut, 1]].map(([i, o, k], j) => resPath.registerModule(`conv_${j + 1}`, new DalleConv(i, o, k)));
  }
  forward(x: Tensor4D): Tensor4D {
    let r = x;
    for (const conv of this.res) r = conv.forward(tf.relu(r));
    return tf.add(this.idPath ? this.idPath.forward(x) : x, tf.mul(r, this.postGain)) as Tensor4D;
  }
}

/** The architecture arguments of DALL-E's Encoder (MMSelfSup's CAE uses the defaults: 256, 2, 3, 8192). */
export interface DalleEncoderArgs {
  n_hid: number;
  n_blk_per_group: number;
  input_channels: number;
  vocab_size: number;
}

class Group extends Module {
  constructor(readonly blocks: EncoderBlock[], readonly pool: boolean) {
    super();
    blocks.forEach((b, i) => this.registerModule(`block_${i + 1}`, b));
  }
  forward(x: Tensor4D): Tensor4D {
    for (const b of this.blocks) x = b.forward(x);
    return this.pool ? tf.maxPool(x, 2, 2, 'valid') : x;
  }
}

/**
 * The DALL-E dVAE encoder (BEiT's copy in MMSelfSup models/utils/dall_e.py), CAE's target tokenizer:
 * `blocks.input` (7×7 conv to n_hid), four groups of `n_blk_per_group` EncoderBlocks at 1, 2, 4, 8 ×
 * n_hid channels (2×2 max pooling after the first three), `blocks.output` (relu, 1×1 conv to
 * vocab_size). NHWC `[N, H, W, 3]` -> logits `[N, H/8, W/8, vocab_size]`. Never trained.
 */
export class DalleEncoder extends Module {
  readonly input: DalleConv;
  readonly groups: Group[];
  readonly output: DalleConv;

  constructor(readonly args: DalleEncoderArgs) {
    super();
    const { n_hid: h, n_blk_per_group: nb, input_channels: c, vocab_size: v } = args;
    if (h % 4 !== 0) throw new ConfigError(`DALL-E encoder: n_hid ${h} must be a multiple of 4`);
    const blocks = this.registerModule('blocks', new (class Blocks extends Module {
      forward(): never {
        throw new Error('called through DalleEncoder');
      }
    })());
    const nLayers = 4 * nb;
    this.input = blocks.registerModule('input', new DalleConv(c, h, 7));
    const widths = [h, 2 * h, 4 * h, 8 * h];
    this.groups = widths.map((w, g) => {
      const inW = g === 0 ? h : widths[g - 1];
      const group = new Group(Array.from({ length: nb }, (_, i) => new EncoderBlock(i === 0 ? inW : w, w, nLayers)), g < 3);
      return blocks.registerModule(`group_${g + 1}`, group);
    });
    const output = blocks.registerModule('output', new (class Output extends Module {
      forward(): never {
        throw new Error('called through DalleEncoder');
      }
    })());
    this.output = output.registerModule('conv', new DalleConv(8 * h, v, 1));
  }

  forward(x: Tensor4D): Tensor {
    let y = this.input.forward(x);
    for (const g of this.groups) y = g.forward(y);
    return this.output.forward(tf.relu(y));
  }

  /**
   * The architecture a DALL-E encoder state dict (PyTorch names) was saved from.
   * @throws ConfigError naming the key that is missing or has the wrong rank.
   */
  static argsOf(state: Map<string, { shape: readonly number[] }>, where: string): DalleEncoderArgs {
    const shape = (k: string, rank: number) => {
      const t = state.get(k);
      if (!t) throw new ConfigError(`${where}: no ${k} (not a DALL-E encoder state dict; its keys start ${[...state.keys()].slice(0, 3).join(', ')})`);
      if (t.shape.length !== rank) throw new ConfigError(`${where}: ${k} has shape [${t.shape.join(', ')}], a DALL-E encoder's has rank ${rank}`);
      return t.shape;
    };
    const [nHid, inC] = shape('blocks.input.w', 4);
    const [vocab] = shape('blocks.output.conv.w', 4);
    let nb = 0;
    while (state.has(`blocks.group_1.block_${nb + 1}.res_path.conv_1.w`)) nb++;
    if (nb === 0) throw new ConfigError(`${where}: no blocks.group_1.block_1.res_path.conv_1.w (not a DALL-E encoder state dict)`);
    return { n_hid: nHid, n_blk_per_group: nb, input_channels: inC, vocab_size: vocab };
  }
}
