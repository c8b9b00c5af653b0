import { ConfigError } from '../../errors.js';
import { uniform01 } from '../../engine/random.js';
import { tf } from '../../engine/tf.js';
import type { InterCLRMemory } from '../memories/interclr-memory.js';

/** InterCLR's negative sampling strategies (`neg_sampling`). */
export const NEG_SAMPLINGS = ['random', 'semihard', 'semieasy', 'hard'] as const;
export type NegSampling = (typeof NEG_SAMPLINGS)[number];

export interface InterSamplingOptions {
  negNum: number;
  negSampling: NegSampling;
  semihardNegPoolNum: number;
  semieasyNegPoolNum: number;
}

/** Redraw rounds before giving up on negatives outside a sample's cluster (MMSelfSup loops forever). */
const MAX_REDRAWS = 1000;

/** For each sample, one bank index drawn uniformly from the samples of its cluster (MMSelfSup's positive sampling). */
export function samplePositives(memory: InterCLRMemory, idx: ArrayLike<number>): Int32Array {
  const out = new Int32Array(idx.length);
  const labels = memory.labelBank;
  for (let i = 0; i < idx.length; i++) {
    const l = labels[idx[i]];
    const pool: number[] = [];
    for (let r = 0; r < labels.length; r++) if (labels[r] === l) pool.push(r);
    out[i] = pool[Math.floor(uniform01() * pool.length)];
  }
  return out;
}

/**
 * MMSelfSup `contrast_inter`'s negatives, `[bs * neg_num]` bank indices, none in the sample's cluster:
 * - random: uniform over the bank, redrawn where in the cluster;
 * - semihard / semieasy: `neg_num` distinct picks from the `*_neg_pool_num` bank rows most / least
 *   similar to the sample's feature, redrawn (whole draw, wrong positions taken) where in the cluster;
 * - hard: the `neg_num` most similar rows outside the cluster.
 * `featNorm` is `[bs, feat_dim]` L2-normalised.
 */
export function sampleNegatives(memory: InterCLRMemory, featNorm: Float32Array, idx: ArrayLike<number>, o: InterSamplingOptions): Int32Array {
  const bs = idx.length;
  const k = o.negNum;
  const labels = memory.labelBank;
  const posLabel = Int32Array.from(idx, (i) => labels[i]);
  const inCluster = (neg: Int32Array) => {
    const wrong: number[] = [];
    for (let p = 0; p < neg.length; p++) if (labels[neg[p]] === posLabel[Math.floor(p / k)]) wrong.push(p);
    return wrong;
  };
  const redraw = (neg: Int32Array, draw: () => Int32Array) => {
    for (let round = 0; ; round++) {
      const wrong = inCluster(neg);
      if (wrong.length === 0) return neg;
      if (round === MAX_REDRAWS) throw new ConfigError(`InterCLRMoCo: found no ${k} negatives outside a sample's cluster in ${MAX_REDRAWS} draws (neg_sampling='${o.negSampling}'); lower neg_num or raise the negative pool`);
      const fresh = draw();
      for (const p of wrong) neg[p] = fresh[p];
    }
  };
  if (o.negSampling === 'random') {
    return redraw(memory.draw(bs * k), () => memory.draw(bs * k));
  }
  if (o.negSampling === 'hard') {
    const hist = memory.histogram();
    const take = Math.min(memory.length, k + Math.max(...hist));
    const top = nearest(memory, featNorm, bs, take, true);
    const out = new Int32Array(bs * k);
    for (let i = 0; i < bs; i++) {
      const kept = Array.from(top.subarray(i * take, (i + 1) * take)).filter((r) => labels[r] !== posLabel[i]);
      if (kept.length < k) throw new ConfigError(`InterCLRMoCo: only ${kept.length} samples lie outside a sample's cluster, fewer than neg_num (${k}); lower neg_num`);
      out.set(kept.slice(0, k), i * k);
    }
    return out;
  }
  const pool = o.negSampling === 'semihard' ? o.semihardNegPoolNum : o.semieasyNegPoolNum;
  const top = nearest(memory, featNorm, bs, pool, o.negSampling === 'semihard');
  // torch.multinomial(ones(bs, pool), neg_num): neg_num distinct positions per row
  const draw = () => {
    const out = new Int32Array(bs * k);
    const pos = Int32Array.from({ length: pool }, (_, j) => j);
    for (let i = 0; i < bs; i++) {
      for (let j = 0; j < k; j++) {
        const t = j + Math.floor(uniform01() * (pool - j));
        [pos[j], pos[t]] = [pos[t], pos[j]];
        out[i * k + j] = top[i * pool + pos[j]];
      }
    }
    return out;
  };
  return redraw(draw(), draw);
}

/** `[bs, n]` bank indices of the `n` rows most (or least) similar to each row of `featNorm`, most similar first. */
function nearest(memory: InterCLRMemory, featNorm: Float32Array, bs: number, n: number, largest: boolean): Int32Array {
  const d = memory.featDim;
  return tf.tidy(() => {
    const sim = tf.matMul(tf.tensor2d(featNorm, [bs, d]), tf.tensor2d(memory.featureBank, [memory.length, d]), false, true);
    return tf.topk(largest ? sim : tf.neg(sim), n, true).indices.dataSync() as Int32Array;
  });
}

/** Checks the sampling arguments against the bank size; `label` names the config key. */
export function checkSampling(o: InterSamplingOptions, length: number): void {
  if (!NEG_SAMPLINGS.includes(o.negSampling)) throw new ConfigError(`InterCLRMoCo: neg_sampling must be one of ${NEG_SAMPLINGS.join(', ')}, got '${String(o.negSampling)}'`);
  if (!(Number.isInteger(o.negNum) && o.negNum > 0)) throw new ConfigError(`InterCLRMoCo: neg_num must be a positive integer, got ${String(o.negNum)}`);
  if (o.negNum >= length) throw new ConfigError(`InterCLRMoCo: neg_num (${o.negNum}) must be smaller than memory_bank.length (${length}, the data set size); lower model.neg_num`);
  const pools: [string, number][] = [['semihard', o.semihardNegPoolNum], ['semieasy', o.semieasyNegPoolNum]];
  for (const [name, pool] of pools) {
    if (o.negSampling !== name) continue;
    if (!(Number.isInteger(pool) && pool >= o.negNum && pool <= length)) {
      throw new ConfigError(`InterCLRMoCo: ${name}_neg_pool_num (${pool}) must be an integer between neg_num (${o.negNum}) and memory_bank.length (${length}); set model.${name}_neg_pool_num`);
    }
  }
}
