import { ConfigError } from '../../errors.js';
import { checkArgs, defineComponent } from '../../registry/index.js';
import { Module } from '../../engine/module.js';
import { tf, type Tensor } from '../../engine/tf.js';
import { crossEntropy } from '../losses/similarity.js';
import { l2Normalize } from '../ops.js';
import { NECKS } from '../registries.js';
import type { NeckBuilder } from './heads.js';

/**
 * MMSelfSup `MoCoV3Head` (Chen et al. 2021, https://arxiv.org/abs/2104.02057): the `predictor` neck
 * on the base encoder's output, then InfoNCE between the L2-normalised predictions `[N, C]` and the
 * L2-normalised momentum features of every rank `[N·world, C]`: logits `pred · targetᵀ / T`, the
 * positive of row i at column `i + N·rank`, loss `2·T·CE` (the 2T scaling of the paper's code).
 */
export class MoCoV3Head extends Module {
  readonly predictor: Module & { forward(x: Tensor[]): Tensor[] };
  readonly temperature: number;

  constructor(args: Record<string, unknown>, buildNeck: NeckBuilder) {
    super();
    checkArgs('MoCoV3Head', args, ['predictor', 'temperature']);
    if (!args.predictor) throw new ConfigError('MoCoV3Head needs a "predictor" (a neck config)');
    this.temperature = (args.temperature as number) ?? 1.0;
    if (!(this.temperature > 0)) throw new ConfigError(`MoCoV3Head: temperature must be > 0, got ${JSON.stringify(args.temperature)}`);
    this.predictor = this.registerModule('predictor', buildNeck(args.predictor as Record<string, unknown>));
  }

  /**
   * @param baseOut `[N, C]` this rank's base-encoder features
   * @param momentumOut `[N·world, C]` the momentum-encoder features of every rank in rank order
   *   (`concat_all_gather`; normalising rows before or after the gather is the same)
   * @param rank this process's rank (its positives are columns `N·rank .. N·rank + N − 1`)
   */
  forward(baseOut: Tensor, momentumOut: Tensor, rank = 0): Record<string, Tensor> {
    const pred = l2Normalize(this.predictor.forward([baseOut])[0]);
    const target = l2Normalize(momentumOut);
    const logits = tf.div(tf.matMul(pred, target, false, true), this.temperature);
    const n = pred.shape[0];
    const labels = tf.tensor1d(Int32Array.from({ length: n }, (_, i) => i + n * rank), 'int32');
    return { loss: tf.mul(crossEntropy(logits, labels), 2 * this.temperature) };
  }
}

export const moCoV3HeadEntry = defineComponent({ type: 'MoCoV3Head', build: (a) => new MoCoV3Head(a, (c) => NECKS.build(c)) });
