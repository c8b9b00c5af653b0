/**
 * The reproduction contract of a run: what decides whether its numbers can be compared with another
 * run's (MMSelfSup's users most often miss the effective batch): ranks, images per rank per step,
 * gradient accumulation, the effective total batch, the lr the optimizer starts from (after any
 * --auto-scale-lr), backend, precision and threads. Printed in the run header and recorded in the
 * run meta (first line of the JSON log, and every checkpoint).
 */
import { parseConfigName } from '../config/naming.js';

export interface ReproductionContract {
  ranks: number;
  per_rank_batch: number;
  accumulation: number;
  /** ranks × per_rank_batch × accumulation: images per optimizer step. */
  effective_batch: number;
  /** The optimizer's base lr (after scaling); warmup and schedules start from it. */
  lr: number;
  backend: string;
  precision: string;
  threads: number;
}

export interface ContractInputs {
  cfg: Record<string, unknown>;
  worldSize: number;
  /** The lr of each param group as built (paramwise options may differ per group). */
  groupLrs: number[];
  backend: { name: string; precision: string; threads: number };
}

export function reproductionContract(i: ContractInputs): ReproductionContract {
  const data = (i.cfg.data ?? {}) as { samples_per_gpu?: number };
  const opt = (i.cfg.optimizer_config ?? {}) as { update_interval?: number };
  const perRank = data.samples_per_gpu ?? 32;
  const accumulation = opt.update_interval ?? 1;
  const cfgLr = (i.cfg.optimizer as { lr?: number } | undefined)?.lr;
  return {
    ranks: i.worldSize,
    per_rank_batch: perRank,
    accumulation,
    effective_batch: i.worldSize * perRank * accumulation,
    lr: typeof cfgLr === 'number' ? cfgLr : (i.groupLrs[0] ?? 0),
    backend: i.backend.name,
    precision: i.backend.precision,
    threads: i.backend.threads,
  };
}

/** One header line: `Reproduction: 2 ranks x 32 images x 1 accumulation = effective batch 64; lr 0.3; backend native (fp32, 4 threads)`. */
export function formatContract(c: ReproductionContract): string {
  return (
    `Reproduction: ${c.ranks} rank${c.ranks > 1 ? 's' : ''} x ${c.per_rank_batch} images x ${c.accumulation} accumulation step${c.accumulation > 1 ? 's' : ''} ` +
    `= effective batch ${c.effective_batch}; lr ${c.lr}; backend ${c.backend} (${c.precision}, ${c.threads} thread${c.threads > 1 ? 's' : ''})`
  );
}

/**
 * The warning line when the config file name encodes a topology (`8xb32`) that this launch does not
 * match, with the effective batch each implies; undefined when they agree or the name has none.
 */
export function topologyWarning(configFile: string, c: ReproductionContract): string | undefined {
  const name = parseConfigName(configFile);
  if (name.gpus === undefined || name.samplesPerGpu === undefined) return undefined;
  if (name.gpus === c.ranks && name.samplesPerGpu === c.per_rank_batch && c.accumulation === 1) return undefined;
  const named = name.gpus * name.samplesPerGpu;
  const launch = `${c.ranks} rank${c.ranks > 1 ? 's' : ''} x ${c.per_rank_batch}${c.accumulation > 1 ? ` x ${c.accumulation} accumulation steps` : ''}`;
  const same = named === c.effective_batch;
  return (
    `the config name says ${name.gpus}xb${name.samplesPerGpu} (effective batch ${named}), this launch is ${launch} (effective batch ${c.effective_batch})` +
    (same ? ': the same effective batch, so the lr schedule applies as written' : `: results will differ from the published ones unless the lr accounts for it (--auto-scale-lr scales lr ${c.lr} by ${c.effective_batch}/${named})`)
  );
}
