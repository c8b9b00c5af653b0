import { join } from 'node:path';
import { runFacts } from './facts.js';
import { appendLine, sweepFiles, writeTrialState } from './files.js';
import { findStage, type StageContext } from './stages.js';
import type { StageState, TrialState } from './types.js';

/**
 * A cluster stage whose job succeeded: its metrics from `stdout` and the files it wrote (train: the run facts
 * of its JSON log too), appended to results.jsonl; a stage whose result cannot be read is failed.
 */
export function recordStageSucceeded(out: string, state: TrialState, st: StageState, ctx: StageContext, stdout: string): void {
  st.exitCode = 0;
  try {
    st.metrics = findStage(st.name)!.collect(ctx, stdout);
    st.status = 'done';
    Object.assign(state.metrics, st.metrics);
    if (st.name === 'train') state.facts = { ...state.facts, ...runFacts(ctx.workDir) };
    appendLine(join(out, sweepFiles.results), { trial: state.id, label: state.label, stage: st.name, seconds: st.seconds, metrics: st.metrics, job: st.jobId, ...state.facts });
  } catch (e) {
    st.status = 'failed';
    state.error = `${st.name}: ${(e as Error).message}`;
  }
}

/** Ends a trial: still `running` after its last stage means done (wall time = the stages' sum, a `trial` line in results.jsonl). */
export function finishTrial(out: string, state: TrialState): TrialState {
  if (state.status === 'running') {
    state.status = 'done';
    state.metrics.wall_time = state.stages.reduce((a, s) => a + (s.seconds ?? 0), 0);
    appendLine(join(out, sweepFiles.results), { trial: state.id, label: state.label, stage: 'trial', metrics: state.metrics, ...state.facts });
  }
  state.endedAt = new Date().toISOString();
  writeTrialState(out, state);
  return state;
}

/** Whether a stage finished with its result (a call, so that it is read after the calls that may change it). */
export const stageDone = (st: StageState): boolean => st.status === 'done';
