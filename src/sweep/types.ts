/**
 * A benchmark sweep: a grid of pre-train -> evaluate trials, the metrics each yields, and how
 * they are gated against a baseline. Loaded from a sweep file by `spec.ts`, expanded by `expand.ts`.
 */
import type { ConfigValue } from '../config/index.js';

export type Better = 'higher' | 'lower';

/** One stage of every trial: an existing `ssl` command (`train`, `eval knn`, ...) and its extra flags. */
export interface StageSpec {
  /** Command id as typed, e.g. `eval knn`. */
  name: string;
  /** Extra flags for the command, as typed on the command line. */
  args: string[];
  /** The stage's own config (absolute), for commands that take one (eval linear's benchmark config). */
  config?: string;
  /** Seconds before the stage is stopped and the trial counted as timed out. */
  timeout: number;
}

/** How far a metric may fall behind its baseline before it counts as a regression. */
export interface Tolerance {
  /** Absolute slack in the metric's unit. */
  abs?: number;
  /** Relative slack (0.05 = 5 %). */
  rel?: number;
  /** Band of k standard deviations around the mean of the baseline's `seeds` runs. */
  k?: number;
  better: Better;
}

/** `gate: relative`: candidate and reference run interleaved in the same job, the ratio of medians is gated. */
export interface RelativeGate {
  /** Repetitions of each side (A/B/A/B...), at least 3. */
  repeats: number;
  /** How to run the reference side: another ssl entry point (a checkout of the baseline revision) and/or cfg-options. */
  referenceBin?: string;
  referenceCfgOptions: string[];
  /** Metrics gated as candidate/reference ratio, with a relative tolerance each. */
  metrics: string[];
}

export interface SweepSpec {
  name: string;
  /** The sweep file (absolute). */
  file: string;
  /** Config files (absolute), globs expanded, in order. */
  configs: string[];
  matrix: Record<string, ConfigValue[]>;
  include: Record<string, ConfigValue>[];
  exclude: Record<string, ConfigValue>[];
  stages: StageSpec[];
  launcher: 'none' | 'local' | 'slurm' | 'k8s';
  /** `ssl train` launcher flags (kebab-case): gpus, partition, image, ... */
  launcherOptions: Record<string, unknown>;
  maxParallel: number;
  metrics: string[];
  /** Baseline file (absolute) or undefined. */
  baseline?: string;
  tolerance: Record<string, Tolerance>;
  /** Seeds of the repeated runs `--update-baseline` records a band from; a normal run uses the first. */
  seeds?: number[];
  gate?: RelativeGate;
}

/** One point of the grid: a config with its matrix values. */
export interface Trial {
  /** Short stable digest of the resolved config and the stages: the trial's name and folder. */
  id: string;
  config: string;
  /** The matrix/include values of this trial as cfg-options (`key=value`). */
  overrides: Record<string, ConfigValue>;
  /** Human label: `<config name> key=value ...`. */
  label: string;
  /** Seed given to `ssl train --seed` (from `seeds`), if any. */
  seed?: number;
  /** For `--update-baseline` with seeds: the trial whose band this replica measures. */
  replicaOf?: string;
}

export type TrialStatus = 'pending' | 'running' | 'done' | 'failed' | 'timeout';

export interface StageState {
  name: string;
  status: TrialStatus;
  startedAt?: string;
  endedAt?: string;
  seconds?: number;
  exitCode?: number;
  /** Cluster job id (Slurm job id, or ns/kind/name) the stage runs as. */
  jobId?: string;
  /** The stage's log (for progress and the failed trial's last lines), when not `<stage>.log` in the trial folder. */
  log?: string;
  /** Local process (group) id while the stage runs on this machine. */
  pid?: number;
  /** Metrics this stage produced. */
  metrics?: Record<string, number>;
}

/** What a trial folder's `state.json` holds. */
export interface TrialState {
  id: string;
  label: string;
  config: string;
  overrides: Record<string, ConfigValue>;
  seed?: number;
  replicaOf?: string;
  status: TrialStatus;
  stages: StageState[];
  metrics: Record<string, number>;
  /** Run facts: effective batch, scaled lr, backend, CPU, git revision. */
  facts: Record<string, unknown>;
  error?: string;
  startedAt?: string;
  endedAt?: string;
}
