import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { parseAllDocuments, stringify } from 'yaml';
import { K8sLauncher, type K8sRequest } from '../../launchers/k8s/k8s-launcher.js';
import { k8sOptionsFromFlags, type K8sKind, type K8sOptions } from '../../launchers/k8s/options.js';
import { formatJobId } from '../../launchers/k8s/status.js';
import { TERMINAL_STATES, type JobStatus } from '../../launchers/launcher.js';
import { createS3Client } from '../storage/client.js';
import { downloadToDir, listObjects } from '../storage/remote-checkpoints.js';
import { formatS3Uri, parseS3Uri } from '../storage/uri.js';
import { pool } from './driver.js';
import { STAGE_LABEL, k8sTrialObjects } from './dry-run.js';
import { readTrialState, trialDir, writeAtomic, writeTrialState } from './files.js';
import type { SweepProgress } from './progress.js';
import { stageSlug } from './stages.js';
import { newTrialState, stageContext, stageS3Prefix } from './trial-local.js';
import { finishTrial, recordStageSucceeded, stageDone } from './trial-record.js';
import type { StageState, SweepSpec, Trial, TrialState } from './types.js';

type Obj = Record<string, any>;

const POLL_MS = Number(process.env.SSL_SWEEP_POLL_MS ?? 2000);
/** Every object of a trial as submitted (train) or to be submitted (later stages): the exact request. */
export const K8S_OBJECTS_FILE = 'k8s.yaml';
/** Consecutive failed status reads (API server unreachable) before a stage counts as failed. */
const STATUS_RETRIES = 10;
/** A stage still running this long after its timeout (a TrainJob has no deadline field) is cancelled. */
const DEADLINE_GRACE_S = 60;

const KIND_OF: Record<string, K8sKind> = { PyTorchJob: 'pytorchjob', TrainJob: 'trainjob', Job: 'indexed-job' };

/**
 * Why this sweep cannot run on Kubernetes as written (undefined: it can). The driver runs outside the
 * cluster, so it reads what the pods wrote from S3: each trial's JSON log (the train metrics) and checkpoint.
 */
export function whyNotK8s(spec: SweepSpec): string | undefined {
  const s3 = spec.launcherOptions.s3;
  if (typeof s3 !== 'string' || s3 === '') {
    return 'launcher k8s: ssl sweep reads each trial\'s logs and checkpoint from S3; set launcher_options.s3: s3://bucket/prefix (trial T writes under <prefix>/<sweep name>/T)';
  }
  const other = spec.stages.slice(1).find((s) => s.name !== 'eval knn');
  if (other) return `launcher k8s: stage "${other.name}" writes its result inside the pod, which ssl sweep does not collect yet; use eval knn, or launcher slurm or local`;
  return undefined;
}

const launcherOf = (spec: SweepSpec): { launcher: K8sLauncher; options: K8sOptions } => {
  const options = { ...k8sOptionsFromFlags(spec.launcherOptions), pollIntervalMs: POLL_MS };
  return { launcher: new K8sLauncher(options), options };
};

const stageOf = (o: Obj): string | undefined => o.metadata?.labels?.[STAGE_LABEL];
const isJob = (o: Obj): boolean => o.kind in KIND_OF;

function request(objects: Obj[], options: K8sOptions): K8sRequest {
  const job = objects.find(isJob)!;
  return { namespace: job.metadata.namespace, kind: KIND_OF[job.kind]!, jobName: job.metadata.name, objects, options, notes: [] } as K8sRequest;
}

/**
 * Creates a stage's objects. Its job's name is fixed by the sweep and trial, so "already exists" means a
 * driver stopped between creating it and recording it: that job is this stage's, and is re-attached.
 */
async function createStage(launcher: K8sLauncher, req: K8sRequest): Promise<string> {
  try {
    return (await launcher.submitRequest(req)).id;
  } catch (e) {
    if ((e as { code?: string }).code !== 'K8S_CONFLICT') throw e;
    const id = formatJobId({ namespace: req.namespace, kind: req.kind, name: req.jobName });
    // only the job itself counts: a leftover ConfigMap without it is the conflict it looks like
    await launcher.status(id).catch(() => {
      throw e;
    });
    return id;
  }
}

/**
 * Submits a trial's train stage: `ssl train --launcher k8s --dry-run` builds its objects (with the sweep's
 * labels, `ssl/sweep`, `ssl/trial`, `ssl/stage`), which are written to `k8s.yaml` in the trial folder and
 * created. The later stages' Indexed Jobs are created by {@link waitTrialK8s} when the stage before succeeds
 * (Kubernetes has no job dependencies). Job ids go into state.json as they are known, so a rerun re-attaches.
 */
export async function submitTrialK8s(spec: SweepSpec, trial: Trial, out: string, facts: Record<string, unknown>): Promise<TrialState> {
  const state = newTrialState(trial);
  state.facts = { ...facts };
  writeTrialState(out, state);
  const dir = trialDir(out, trial.id);
  const { launcher, options } = launcherOf(spec);
  try {
    const objects = await k8sTrialObjects(spec, trial, out, join(dir, 'train.submit.log'));
    writeAtomic(join(dir, K8S_OBJECTS_FILE), objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join(''));
    const jobId = await createStage(launcher, request(objects.filter((o) => stageOf(o) === 'train'), options));
    state.stages.push({ name: 'train', status: 'pending', jobId, log: join(dir, 'train.log') });
  } catch (e) {
    state.status = 'failed';
    state.error = `train was not submitted: ${(e as Error).message}`;
    state.stages.push({ name: 'train', status: 'failed' });
    writeTrialState(out, state);
    return state;
  }
  for (const s of spec.stages.slice(1)) state.stages.push({ name: s.name, status: 'pending', log: join(dir, `${stageSlug(s.name)}.log`) });
  writeTrialState(out, state);
  return state;
}

/** The rank-0 pod log of a job ('' when it cannot be read any more: pods removed by the job's TTL). */
async function podLog(launcher: K8sLauncher, id: string): Promise<string> {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  try {
    await launcher.logs(id, sink);
  } catch {
    // the status message says why the stage ended; its log is a convenience
  }
  return text;
}

/** The train stage's JSON and text logs, from its S3 prefix into the trial's local work dir (what the metrics and facts read). */
async function fetchTrainLogs(spec: SweepSpec, trial: Trial, workDir: string): Promise<void> {
  const prefix = stageS3Prefix(spec, trial, 'train')!;
  const endpoint = spec.launcherOptions['s3-endpoint'];
  const client = createS3Client(typeof endpoint === 'string' ? { endpoint } : {});
  try {
    const { bucket } = parseS3Uri(prefix);
    for (const o of await listObjects(client, prefix)) {
      if (o.key.endsWith('.log.json') || o.key.endsWith('.log')) await downloadToDir(client, formatS3Uri(bucket, o.key), workDir);
    }
  } finally {
    client.destroy();
  }
}

/** Creates a later stage's Indexed Job from the trial's k8s.yaml. */
async function submitStage(spec: SweepSpec, trial: Trial, out: string, st: StageState): Promise<string> {
  const { launcher, options } = launcherOf(spec);
  const docs = parseAllDocuments(readFileSync(join(trialDir(out, trial.id), K8S_OBJECTS_FILE), 'utf8')).map((d) => d.toJSON() as Obj);
  const job = docs.find((d) => d && isJob(d) && stageOf(d) === stageSlug(st.name));
  if (!job) throw new Error(`${K8S_OBJECTS_FILE} has no job of stage ${st.name}`);
  return createStage(launcher, request([job], options));
}

function ended(js: JobStatus, st: StageState, timeoutS: number): boolean {
  if (TERMINAL_STATES.includes(js.state) || js.state === 'UNKNOWN') return true;
  return Boolean(st.startedAt) && Date.now() - Date.parse(st.startedAt!) > (timeoutS + DEADLINE_GRACE_S) * 1000;
}

/**
 * Waits for a submitted trial's stages in order: creates each later stage's job when the one before
 * succeeded, keeps each stage's pod log as `<stage>.log` in the trial folder, and collects its metrics
 * (train: from the JSON log it uploaded to S3; eval knn: from the JSON line its pod printed).
 */
export async function waitTrialK8s(spec: SweepSpec, trial: Trial, out: string, progress: SweepProgress): Promise<TrialState> {
  const state = readTrialState(out, trial.id)!;
  const { launcher } = launcherOf(spec);
  for (let i = 0; i < state.stages.length; i++) {
    const st: StageState = state.stages[i]!;
    if (st.status === 'done') continue;
    const ctx = stageContext(spec, trial, out, i);
    try {
      st.jobId ??= await submitStage(spec, trial, out, st);
    } catch (e) {
      st.status = 'failed';
      state.error = `${st.name} was not submitted: ${(e as Error).message}`;
    }
    writeTrialState(out, state);
    let announced = false;
    let unreachable = 0;
    while (st.status !== 'failed') {
      let js: JobStatus;
      try {
        js = await launcher.status(st.jobId!);
        unreachable = 0;
      } catch (e) {
        // the job keeps running while the API server is briefly unreachable; a deleted job is final
        if ((e as { code?: string }).code !== 'K8S_NOT_FOUND' && ++unreachable < STATUS_RETRIES) {
          await sleep(POLL_MS);
          continue;
        }
        st.status = 'failed';
        state.error = `${st.name} (${st.jobId}): ${(e as Error).message}`;
        break;
      }
      if ((js.state === 'RUNNING' || js.state === 'SUCCEEDED') && !announced) {
        announced = true;
        st.status = 'running';
        st.startedAt ??= new Date().toISOString();
        writeTrialState(out, state);
        progress.stage(trial, st.name, st.log ?? '');
      }
      if (!ended(js, st, ctx.stage.timeout)) {
        await sleep(POLL_MS);
        continue;
      }
      st.endedAt = new Date().toISOString();
      st.seconds = st.startedAt ? (Date.parse(st.endedAt) - Date.parse(st.startedAt)) / 1000 : undefined;
      const log = await podLog(launcher, st.jobId!);
      writeAtomic(st.log ?? join(ctx.trialDir, `${stageSlug(st.name)}.log`), log || `${js.logTail?.lines.join('\n') ?? ''}\n`);
      if (js.state === 'SUCCEEDED') {
        try {
          if (st.name === 'train') await fetchTrainLogs(spec, trial, ctx.workDir);
          recordStageSucceeded(out, state, st, ctx, st.name === 'train' ? '' : log);
        } catch (e) {
          st.status = 'failed';
          state.error = `${st.name}: ${(e as Error).message}`;
        }
      } else if (js.state === 'RUNNING' || js.state === 'PENDING') {
        await launcher.cancel(st.jobId!).catch(() => undefined);
        st.status = 'timeout';
        state.error = `${st.name} timed out after ${ctx.stage.timeout} s (${st.jobId} cancelled)`;
      } else {
        st.status = /DeadlineExceeded/.test(js.message ?? '') ? 'timeout' : 'failed';
        st.exitCode = js.exitCode;
        state.error = `${st.name} (${st.jobId}) ended ${js.message ?? js.state}`;
      }
      break;
    }
    writeTrialState(out, state);
    if (!stageDone(st)) {
      state.status = st.status;
      for (const later of state.stages.slice(i + 1)) later.status = 'failed';
      break;
    }
  }
  return finishTrial(out, state);
}

/** Submits `todo` (all at once with --no-wait, else at most max_parallel trials in flight) and waits for them and `attach`. */
export async function runTrialsK8s(o: { spec: SweepSpec; todo: Trial[]; attach: Trial[]; out: string; facts: Record<string, unknown>; progress: SweepProgress; noWait: boolean }): Promise<TrialState[]> {
  const done: TrialState[] = [];
  const submit = async (t: Trial): Promise<TrialState> => {
    const s = await submitTrialK8s(o.spec, t, o.out, o.facts);
    if (s.status === 'failed') o.progress.ended(s);
    else o.progress.note(`${t.id} submitted: train ${s.stages[0]!.jobId} (${t.label})`);
    return s;
  };
  if (o.noWait) {
    for (const t of o.todo) done.push(await submit(t));
    return done;
  }
  await pool([...o.attach.map((t) => ({ t, fresh: false })), ...o.todo.map((t) => ({ t, fresh: true }))], o.spec.maxParallel, async ({ t, fresh }) => {
    if (fresh && (await submit(t)).status === 'failed') {
      done.push(readTrialState(o.out, t.id)!);
      return;
    }
    const s = await waitTrialK8s(o.spec, t, o.out, o.progress);
    done.push(s);
    o.progress.ended(s);
  });
  return done;
}
