import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { sanitizeName } from '../../launchers/k8s/names.js';
import { CONFIG_MOUNT, CONTAINER, JOB_NAME_LABEL, WORK_MOUNT } from '../../launchers/k8s/pod.js';
import { shellQuote } from '../../launchers/slurm/shell.js';
import { LauncherError } from '../errors.js';
import { runSsl } from './run-command.js';
import { checkpointPath, findStage, stageSlug } from './stages.js';
import { launcherFlags, stageContext, stageS3Prefix } from './trial-local.js';
import { slurmTrainArgv, stageScript } from './trial-slurm.js';
import type { SweepSpec, Trial } from './types.js';

type Obj = Record<string, any>;

/** Labels on every Kubernetes object of a sweep's trial stage. */
export const SWEEP_LABEL = 'ssl/sweep';
export const TRIAL_LABEL = 'ssl/trial';
export const STAGE_LABEL = 'ssl/stage';
const LABEL_MAX = 63;

const labelValue = (s: string): string => sanitizeName(s).slice(0, LABEL_MAX).replace(/-+$/, '');
export const k8sTrialJobName = (spec: SweepSpec, trial: Trial): string => `${labelValue(spec.name).slice(0, 40).replace(/-+$/, '')}-${trial.id}`;

/**
 * What `ssl sweep --dry-run` prints: every trial and, per stage, the exact request: the command lines
 * (local), the sbatch scripts (Slurm; train's from `ssl train --launcher slurm --dry-run`), or every
 * Kubernetes manifest (train's from `ssl train --launcher k8s --dry-run`, one Job per later stage), labelled
 * with the sweep name and trial digest. Nothing is written under `out` and nothing is submitted.
 */
export async function renderDryRun(spec: SweepSpec, trials: Trial[], out: string): Promise<string> {
  const parts = [`# ssl sweep ${spec.name}: ${trials.length} trials x ${spec.stages.map((s) => s.name).join(' -> ')} on ${spec.launcher}; nothing was run or submitted`];
  // the train commands' own dry runs write their resolved config (and sbatch script) into the work dir: give them a scratch one
  const scratch = mkdtempSync(join(tmpdir(), 'ssl-sweep-dry-'));
  try {
    for (const t of trials) {
      parts.push(`\n# trial ${t.id}: ${t.label}`);
      if (spec.launcher === 'slurm') parts.push(await slurmDry(spec, t, scratch, out));
      else if (spec.launcher === 'k8s') parts.push(await k8sDry(spec, t, scratch, out));
      else parts.push(localDry(spec, t, out));
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return `${parts.join('\n')}\n`;
}

function localDry(spec: SweepSpec, t: Trial, out: string): string {
  return spec.stages
    .map((_, i) => {
      const ctx = stageContext(spec, t, out, i);
      const argv = findStage(ctx.stage.name)!.argv(ctx);
      if (ctx.stage.name === 'train' || findStage(ctx.stage.name)!.usesLauncher) argv.push(...launcherFlags(spec, {}, { trial: t, stage: ctx.stage.name }));
      return `ssl ${argv.map(shellQuote).join(' ')}   # timeout ${ctx.stage.timeout} s`;
    })
    .join('\n');
}

async function dryTrain(argv: string[], log: string, t: Trial, what: string): Promise<string> {
  const r = await runSsl([...argv, '--dry-run'], { logPath: log, timeoutS: 120 });
  if (r.exitCode !== 0) {
    const { tailLines } = await import('./files.js');
    throw new LauncherError(`trial ${t.id}: ssl train --dry-run (${what}) failed: ${tailLines(log, 1)}`);
  }
  return r.stdout;
}

async function slurmDry(spec: SweepSpec, t: Trial, scratch: string, out: string): Promise<string> {
  const text = [`## stage train: ssl train --launcher slurm submits (sbatch --parsable)`, await dryTrain(slurmTrainArgv(spec, t, scratch), join(scratch, `${t.id}.dry.log`), t, 'slurm')];
  for (let i = 1; i < spec.stages.length; i++) {
    text.push(`## stage ${spec.stages[i]!.name}: sbatch --parsable --dependency=afterok:<job of the stage before> --kill-on-invalid-dep=yes`, stageScript(spec, t, scratch, i).text);
  }
  return text.join('\n').replaceAll(scratch, out);
}

async function k8sDry(spec: SweepSpec, t: Trial, scratch: string, out: string): Promise<string> {
  const objects = await k8sTrialObjects(spec, t, scratch, join(scratch, `${t.id}.dry.log`));
  return objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join('').replaceAll(scratch, out);
}

/**
 * Every Kubernetes object of a trial ({@link k8sStageObjects}) from `ssl train --launcher k8s --dry-run` run with
 * the trial's work dir under `out` (the dry run writes the resolved config there, as submission would).
 */
export async function k8sTrialObjects(spec: SweepSpec, t: Trial, out: string, log: string): Promise<Obj[]> {
  const ctx0 = stageContext(spec, t, out, 0);
  const argv = [...findStage('train')!.argv(ctx0), ...launcherFlags(spec, { 'job-name': k8sTrialJobName(spec, t) }, { trial: t, stage: 'train' })];
  const docs = parseAllDocuments(await dryTrain(argv, log, t, 'k8s')).map((d) => d.toJSON() as Obj).filter((d) => d && typeof d === 'object');
  return k8sStageObjects(spec, t, docs);
}

function addLabels(meta: Obj, labels: Record<string, string>): void {
  meta.labels = { ...(meta.labels ?? {}), ...labels };
}

/** A TrainJob has no pod template of its own (its runtime does): the later stages' pods get the trainer's image, env and volumes. */
function trainJobTemplate(o: Obj): Obj {
  const trainer = o.spec.trainer as Obj;
  const pod = o.spec.runtimePatches?.[0]?.trainingRuntimeSpec?.template?.spec?.replicatedJobs?.[0]?.template?.spec?.template?.spec ?? {};
  return {
    spec: {
      ...(pod.serviceAccountName ? { serviceAccountName: pod.serviceAccountName } : {}),
      ...(pod.terminationGracePeriodSeconds ? { terminationGracePeriodSeconds: pod.terminationGracePeriodSeconds } : {}),
      containers: [{ name: CONTAINER, image: trainer.image, command: trainer.command, env: trainer.env ?? [], volumeMounts: pod.containers?.[0]?.volumeMounts ?? [] }],
      volumes: pod.volumes ?? [],
    },
  };
}

/**
 * The train stage's objects (as `ssl train --launcher k8s` builds them) labelled with the sweep, trial and
 * stage, with the stage timeout as the job's deadline (PyTorchJob, Indexed Job); then one Indexed Job of one
 * pod per later stage running that `ssl` command in the train pod's image, with the same config and work-dir
 * volumes. A later stage reads the train stage's checkpoint from the trial's S3 prefix (the newest one there)
 * when launcher_options.s3 is set, else from the work dir on the PVC.
 */
export function k8sStageObjects(spec: SweepSpec, t: Trial, trainDocs: Obj[]): Obj[] {
  const sweep = labelValue(spec.name);
  const base = { [SWEEP_LABEL]: sweep, [TRIAL_LABEL]: t.id };
  const objects: Obj[] = [];
  let template: Obj | undefined;
  for (const d of trainDocs) {
    const o = structuredClone(d);
    addLabels((o.metadata ??= {}), { ...base, [STAGE_LABEL]: 'train' });
    if (o.kind === 'PyTorchJob') {
      o.spec.runPolicy = { ...(o.spec.runPolicy ?? {}), activeDeadlineSeconds: spec.stages[0]!.timeout };
      for (const r of Object.values(o.spec.pytorchReplicaSpecs ?? {}) as Obj[]) addLabels((r.template.metadata ??= {}), { ...base, [STAGE_LABEL]: 'train' });
      template = (o.spec.pytorchReplicaSpecs.Master as Obj).template;
    } else if (o.kind === 'Job') {
      o.spec.activeDeadlineSeconds = spec.stages[0]!.timeout;
      addLabels((o.spec.template.metadata ??= {}), { ...base, [STAGE_LABEL]: 'train' });
      template = o.spec.template;
    } else if (o.kind === 'TrainJob') {
      template = trainJobTemplate(o);
    }
    objects.push(o);
  }
  if (!template) throw new LauncherError(`trial ${t.id}: ssl train --launcher k8s --dry-run printed no job`);
  const train = objects.find((o) => o.kind === 'PyTorchJob' || o.kind === 'Job' || o.kind === 'TrainJob')!;
  const mounts = (template.spec.containers[0].volumeMounts ?? []) as Obj[];
  const configMount = mounts.find((m) => m.name === 'config')?.mountPath ?? CONFIG_MOUNT;
  const workMount = mounts.find((m) => m.name === 'workdir')?.mountPath ?? WORK_MOUNT;
  const cmap = objects.find((o) => o.kind === 'ConfigMap');
  const cfgFile = Object.keys(cmap?.data ?? {})[0] ?? 'config.yaml';
  const appDir = String(template.spec.containers[0].command?.[1] ?? '/opt/ssl/bin/ssl-agent.js').replace(/\/bin\/ssl-agent\.js$/, '');
  const podWorkDir = `${workMount}/${basename(stageContext(spec, t, '/', 0).workDir)}`;
  const s3 = stageS3Prefix(spec, t, 'train');
  const s3Endpoint = spec.launcherOptions['s3-endpoint'];
  for (let i = 1; i < spec.stages.length; i++) {
    const stage = spec.stages[i]!;
    const slug = stageSlug(stage.name);
    // the stage's own argv, with the paths as the pod sees them
    const ctx = { ...stageContext(spec, t, '/', i), workDir: podWorkDir };
    const argv = findStage(stage.name)!.argv(ctx).map((a) => {
      if (a.endsWith('.json') && a.startsWith(podWorkDir)) return `${configMount}/${cfgFile}`;
      // "<prefix>/": the newest complete checkpoint the train stage uploaded there
      if (s3 && a === checkpointPath(podWorkDir)) return `${s3}/`;
      return a;
    });
    if (s3 && typeof s3Endpoint === 'string') argv.push('--s3-endpoint', s3Endpoint);
    const name = `${train.metadata.name}-${slug}`.slice(0, 63).replace(/-+$/, '');
    const tpl = structuredClone(template);
    const c = tpl.spec.containers[0];
    c.command = ['node', `${appDir}/bin/run.js`];
    c.args = argv;
    delete c.ports;
    c.env = (c.env ?? []).filter((e: Obj) => !/^(MASTER_|PET_)/.test(e.name));
    delete tpl.spec.subdomain;
    tpl.spec.restartPolicy = 'Never';
    const labels = { ...base, [STAGE_LABEL]: slug, [JOB_NAME_LABEL]: name, 'app.kubernetes.io/managed-by': 'ssl', 'app.kubernetes.io/component': 'evaluation' };
    tpl.metadata = { labels };
    objects.push({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, namespace: train.metadata.namespace, labels, annotations: { 'ssl/after': `${train.kind}/${train.metadata.name}` } },
      // one indexed pod: `ssl jobs status/logs` find it as they find a training pod
      spec: { completionMode: 'Indexed', completions: 1, parallelism: 1, backoffLimit: 0, activeDeadlineSeconds: stage.timeout, ttlSecondsAfterFinished: 86400, template: tpl },
    });
  }
  return objects;
}
