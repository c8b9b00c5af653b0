/**
 * The fake cluster's Kubeflow Trainer v2 and JobSet controllers, reduced to what the launcher relies on:
 * - Trainer (kubeflow/trainer, TrainJob v1alpha1): the TrainJob is admitted against the real CRD schema
 *   (helpers/schemas.ts) and must reference a ClusterTrainingRuntime the cluster has; the runtime's JobSet
 *   template gets the trainer's image/command/args/env/resources on the `node` container, the torch plugin's
 *   PET_* variables and the runtime patches; the JobSet is named after the TrainJob. The TrainJob's Complete or
 *   Failed condition copies the JobSet's terminal condition (there is no Running condition: pods say that).
 * - JobSet (kubernetes-sigs/jobset v1alpha2): a headless Service named after the JobSet; one Indexed Job
 *   `<jobset>-<replicatedJob>-<jobIndex>` per replica, its pods labelled `jobset.sigs.k8s.io/*` with hostname
 *   `<job>-<index>` under the JobSet's subdomain; a failed Job restarts every Job (restart-attempt + 1) while
 *   `failurePolicy.maxRestarts` (default 0) allows, else the JobSet fails (reasons FailedJobs / ReachedMaxRestarts);
 *   `failurePolicy.rules` (onJobFailureReasons, targetReplicatedJobs; first match acts): FailJobSet,
 *   RestartJobSetAndIgnoreMaxRestarts, or the default RestartJobSet. The Jobs run their podFailurePolicy and backoffLimit.
 * - TrainingRuntime: a namespaced runtime, created through the API (admitted against the runtime CRD schema).
 * Pods restart in place in a real cluster (JobSet defaults restartPolicy OnFailure); here a failed container's pod
 * is replaced, counted against the Job's backoffLimit (Kubernetes' default 6) the same way.
 */
import { AdmissionError, type ClusterOps, runIndexedJob } from './controllers.js';
import type { Obj } from './kubelet.js';

const now = () => new Date().toISOString();
const clone = <T>(o: T): T => JSON.parse(JSON.stringify(o));
const ownerRef = (apiVersion: string, kind: string, o: Obj) => ({ apiVersion, kind, name: o.metadata.name, uid: o.metadata.uid, controller: true, blockOwnerDeletion: true });

export const JOBSET_NAME_LABEL = 'jobset.sigs.k8s.io/jobset-name';
const TRAINER_CONTAINER = 'node';

export interface TrainerOps extends ClusterOps {
  /** The runtime a TrainJob references: a ClusterTrainingRuntime, or a TrainingRuntime of namespace `ns`. */
  runtime(ref: { name: string; kind?: string }, ns: string): Obj | undefined;
  /** PET_MASTER_PORT the torch plugin injects (29400 in a real cluster; a free port here, where every pod shares one host). */
  masterPort: number;
}

/** The Trainer's webhook: the runtime the TrainJob references must exist. */
export function admitTrainJob(tj: Obj, ops: TrainerOps): void {
  const ref = { kind: 'ClusterTrainingRuntime', ...(tj.spec?.runtimeRef ?? {}) };
  if (!ops.runtime(ref, tj.metadata.namespace)) {
    throw new AdmissionError(`spec.runtimeRef: Invalid value: ${ref.kind}.trainer.kubeflow.org "${ref.name}" not found`);
  }
}

/** Strategic-merge of a runtime patch's pod template into the runtime's (containers and volumes by name). */
function patchPodTemplate(tpl: Obj, patch: Obj): void {
  tpl.metadata = { ...(tpl.metadata ?? {}), labels: { ...(tpl.metadata?.labels ?? {}), ...(patch.metadata?.labels ?? {}) }, annotations: { ...(tpl.metadata?.annotations ?? {}), ...(patch.metadata?.annotations ?? {}) } };
  const spec = patch.spec ?? {};
  for (const [k, v] of Object.entries(spec)) {
    if (k === 'containers') {
      for (const pc of v as Obj[]) {
        const c = tpl.spec.containers.find((x: Obj) => x.name === pc.name);
        if (!c) throw new Error(`runtime patch names container ${pc.name}, which the runtime does not have`);
        c.volumeMounts = [...(c.volumeMounts ?? []), ...(pc.volumeMounts ?? [])];
        c.env = [...(c.env ?? []), ...(pc.env ?? [])];
      }
    } else if (k === 'volumes') tpl.spec.volumes = [...(tpl.spec.volumes ?? []), ...(v as Obj[])];
    else tpl.spec[k] = v;
  }
}

function setCondition(obj: Obj, type: string, reason: string, message: string): void {
  const conds: Obj[] = (obj.status.conditions ??= []);
  const c = { type, status: 'True', reason, message, lastTransitionTime: now() };
  const i = conds.findIndex((x) => x.type === type);
  if (i >= 0) conds[i] = c;
  else conds.push(c);
}

/** The JobSet the Trainer builds for a TrainJob from its runtime. */
function buildJobSet(tj: Obj, runtime: Obj, masterPort: number): Obj {
  const name = tj.metadata.name;
  const t = tj.spec.trainer ?? {};
  const numNodes: number = t.numNodes ?? runtime.spec.mlPolicy?.numNodes ?? 1;
  const nproc = t.numProcPerNode ?? 'auto';
  const spec = clone(runtime.spec.template.spec);
  for (const rj of spec.replicatedJobs as Obj[]) {
    const pod = rj.template.spec.template;
    for (const patch of tj.spec.runtimePatches ?? []) {
      const p = (patch.trainingRuntimeSpec?.template?.spec?.replicatedJobs ?? []).find((x: Obj) => x.name === rj.name);
      if (p?.template?.spec?.template) patchPodTemplate(pod, p.template.spec.template);
    }
    if (rj.template.metadata?.labels?.['trainer.kubeflow.org/trainjob-ancestor-step'] !== 'trainer') continue;
    rj.template.spec.completions = rj.template.spec.parallelism = numNodes;
    rj.template.spec.completionMode = 'Indexed';
    const c = pod.spec.containers.find((x: Obj) => x.name === TRAINER_CONTAINER);
    if (t.image) c.image = t.image;
    if (t.command) c.command = t.command;
    if (t.args) c.args = t.args;
    if (t.resourcesPerNode) c.resources = t.resourcesPerNode;
    c.env = [
      ...(c.env ?? []),
      ...(t.env ?? []),
      { name: 'PET_NNODES', value: String(numNodes) },
      { name: 'PET_NPROC_PER_NODE', value: String(nproc) },
      { name: 'PET_NODE_RANK', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } },
      { name: 'PET_MASTER_ADDR', value: `${name}-${rj.name}-0-0.${name}` },
      { name: 'PET_MASTER_PORT', value: String(masterPort) },
    ];
    // the container first: the fake kubelet runs containers[0]
    pod.spec.containers = [c, ...pod.spec.containers.filter((x: Obj) => x !== c)];
  }
  return {
    apiVersion: 'jobset.x-k8s.io/v1alpha2',
    kind: 'JobSet',
    metadata: { name, namespace: tj.metadata.namespace, labels: { ...(tj.metadata.labels ?? {}) }, ownerReferences: [ownerRef('trainer.kubeflow.org/v1alpha1', 'TrainJob', tj)] },
    spec: { ...spec, network: { subdomain: name, publishNotReadyAddresses: true } },
  };
}

/** Runs a created TrainJob as the Trainer and JobSet controllers would. */
export function runTrainJob(tj: Obj, ops: TrainerOps): void {
  const ns = tj.metadata.namespace;
  const name = tj.metadata.name;
  tj.status = {};
  const runtime = ops.runtime(tj.spec.runtimeRef, ns)!;
  const js = ops.put('jobsets', buildJobSet(tj, runtime, ops.masterPort));
  js.status = { restarts: 0, restartsCountTowardsMax: 0, conditions: [] };
  ops.put('services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns, ownerReferences: [ownerRef('jobset.x-k8s.io/v1alpha2', 'JobSet', js)] },
    spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector: { [JOBSET_NAME_LABEL]: name } },
  });
  const maxRestarts: number = js.spec.failurePolicy?.maxRestarts ?? 0;
  const rules: Obj[] = js.spec.failurePolicy?.rules ?? [];
  const rjobs: Obj[] = js.spec.replicatedJobs;
  let ended = false;
  let jobs: Obj[] = [];
  /** Marks this attempt's Jobs deleted (their controllers stop) and kills their pods. */
  const deleteJobs = () => {
    for (const j of jobs) j.metadata.deletionTimestamp = now();
    for (const p of ops.pods(ns, (p) => p.metadata.labels?.[JOBSET_NAME_LABEL] === name && !['Succeeded', 'Failed'].includes(p.status?.phase))) ops.deletePod(ns, p.metadata.name);
  };
  const end = (type: 'Completed' | 'Failed', reason: string, message: string) => {
    ended = true;
    js.status.terminalState = type;
    setCondition(js, type, reason, message);
    if (ops.exists('trainjobs', ns, name)) setCondition(tj, type === 'Completed' ? 'Complete' : 'Failed', reason, message);
  };
  const start = (attempt: number) => {
    let completed = 0;
    jobs = [];
    const total = rjobs.reduce((n, rj) => n + (rj.replicas ?? 1), 0);
    for (const rj of rjobs) {
      for (let j = 0; j < (rj.replicas ?? 1); j++) {
        const jobName = `${name}-${rj.name}-${j}`;
        const jsLabels = {
          [JOBSET_NAME_LABEL]: name,
          'jobset.sigs.k8s.io/replicatedjob-name': rj.name,
          'jobset.sigs.k8s.io/job-index': String(j),
          'jobset.sigs.k8s.io/restart-attempt': String(attempt),
        };
        const template = clone(rj.template.spec.template);
        template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), ...jsLabels }, annotations: { ...(template.metadata?.annotations ?? {}), ...jsLabels } };
        template.spec.subdomain = name;
        template.spec.restartPolicy ??= 'OnFailure';
        const job = ops.put('jobs', {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: { name: jobName, namespace: ns, labels: { ...jsLabels }, ownerReferences: [ownerRef('jobset.x-k8s.io/v1alpha2', 'JobSet', js)] },
          spec: { ...clone(rj.template.spec), template },
        });
        jobs.push(job);
        runIndexedJob(job, ops, (type, reason) => {
          if (ended || !ops.exists('jobsets', ns, name)) return;
          if (type === 'Complete') {
            if (++completed === total) end('Completed', 'AllJobsCompleted', 'jobset completed successfully');
            return;
          }
          // the first failurePolicy rule matching the Job's failure reason (and replicated job) acts; none: RestartJobSet
          const rule = rules.find(
            (r) => (!r.onJobFailureReasons || r.onJobFailureReasons.includes(reason)) && (!r.targetReplicatedJobs || r.targetReplicatedJobs.includes(rj.name)),
          );
          const action: string = rule?.action ?? 'RestartJobSet';
          if (action === 'FailJobSet') {
            end('Failed', 'FailJobSetFailurePolicyAction', `applying FailJobSet failure policy action (first failed job: ${jobName})`);
            deleteJobs();
            return;
          }
          if (action === 'RestartJobSetAndIgnoreMaxRestarts') {
            js.status.restarts++;
            deleteJobs();
            start(attempt + 1);
            return;
          }
          if (action !== 'RestartJobSet') throw new Error(`the fake JobSet controller does not implement failure policy action ${action}`);
          if (js.status.restartsCountTowardsMax >= maxRestarts) {
            end('Failed', maxRestarts > 0 ? 'ReachedMaxRestarts' : 'FailedJobs', maxRestarts > 0 ? 'jobset failed due to reaching max number of restarts' : 'jobset failed due to one or more job failures');
            deleteJobs();
            return;
          }
          // failurePolicy RecreateAll: every Job of this attempt goes, the next attempt starts them all again
          js.status.restarts++;
          js.status.restartsCountTowardsMax++;
          deleteJobs();
          start(attempt + 1);
        });
      }
    }
  };
  start(0);
}
