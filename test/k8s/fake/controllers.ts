/**
 * The fake cluster's controllers, reduced to what the launcher relies on:
 * - the Kubeflow training operator v1.9 for PyTorchJob (webhook rules, pods `<job>-<rtype>-<i>`, one headless
 *   Service per pod, injected MASTER_ADDR/MASTER_PORT/WORLD_SIZE/RANK/PET_* env, Created/Running/Succeeded/Failed
 *   conditions, cleanPodPolicy);
 * - the Job controller for Indexed Jobs (pods with index annotation/label, hostname `<job>-<i>`, JOB_COMPLETION_INDEX,
 *   podFailurePolicy FailJob, backoffLimit, Complete/Failed conditions).
 */
import { randomBytes } from 'node:crypto';
import type { Obj } from './kubelet.js';

export interface ClusterOps {
  put(resource: string, obj: Obj): Obj;
  /** Creates and starts a pod; `onExit(code)` when its container ends, `onRunning` when it starts. */
  startPod(pod: Obj, onRunning: () => void, onExit: (code: number) => void): void;
  /** Kills a pod's process and removes it (the controller deleting a pod). */
  deletePod(ns: string, name: string): void;
  pods(ns: string, pred: (p: Obj) => boolean): Obj[];
  /** Whether the object still exists (a deleted job's controller stops acting). */
  exists(resource: string, ns: string, name: string): boolean;
}

export class AdmissionError extends Error {}

const now = () => new Date().toISOString();
const clone = <T>(o: T): T => JSON.parse(JSON.stringify(o));
const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

function condition(obj: Obj, type: string, reason: string, message: string): void {
  const conds: Obj[] = (obj.status.conditions ??= []);
  // Running and Restarting replace each other; both go False when the job ends (status.go).
  if (['Succeeded', 'Failed'].includes(type)) for (const c of conds) if (c.type === 'Running') c.status = 'False';
  const existing = conds.find((c) => c.type === type);
  const c = { type, status: 'True', reason, message, lastUpdateTime: now(), lastTransitionTime: now() };
  if (existing) Object.assign(existing, c);
  else conds.push(c);
}

const ownerRef = (apiVersion: string, kind: string, o: Obj) => ({ apiVersion, kind, name: o.metadata.name, uid: o.metadata.uid, controller: true, blockOwnerDeletion: true });

/** PyTorchJob webhook (pytorchjob_webhook.go): the rules a real cluster enforces before defaulting. */
export function admitPyTorchJob(job: Obj): void {
  const name = job.metadata?.name ?? '';
  if (!DNS1035.test(name) || name.length > 63) throw new AdmissionError(`metadata.name: Invalid value: "${name}": a DNS-1035 label must consist of lower case alphanumeric characters or '-'`);
  const specs = job.spec?.pytorchReplicaSpecs ?? {};
  for (const key of Object.keys(specs)) {
    if (key !== 'Master' && key !== 'Worker') throw new AdmissionError(`spec.pytorchReplicaSpecs: Not supported: "${key}": supported values: "Master", "Worker"`);
  }
  if (specs.Master && specs.Master.replicas !== 1) throw new AdmissionError('spec.pytorchReplicaSpecs[Master].replicas: Forbidden: must be 1');
  if (specs.Worker && !(specs.Worker.replicas >= 1)) throw new AdmissionError('spec.pytorchReplicaSpecs[Worker].replicas: Invalid value: must be at least 1');
  for (const [key, spec] of Object.entries<Obj>(specs)) {
    const containers: Obj[] = spec.template?.spec?.containers ?? [];
    if (containers.length === 0) throw new AdmissionError(`spec.pytorchReplicaSpecs[${key}].template.spec.containers: Required value`);
    if (containers.some((c) => !c.image)) throw new AdmissionError(`spec.pytorchReplicaSpecs[${key}].template.spec.containers: image is required`);
    if (!containers.some((c) => c.name === 'pytorch')) throw new AdmissionError(`spec.pytorchReplicaSpecs[${key}].template.spec.containers: Required value: one container must be named pytorch`);
  }
}

/** Runs a created PyTorchJob as the training operator would. */
export function runPyTorchJob(job: Obj, ops: ClusterOps): void {
  const ns = job.metadata.namespace;
  const name = job.metadata.name;
  job.status = { conditions: [], replicaStatuses: {}, startTime: now() };
  condition(job, 'Created', 'PyTorchJobCreated', `PyTorchJob ${name} is created.`);
  const specs: Obj = job.spec.pytorchReplicaSpecs;
  const nproc = /^\d+$/.test(String(job.spec.nprocPerNode ?? '')) ? Number(job.spec.nprocPerNode) : 1;
  const total = Object.values<Obj>(specs).reduce((n, s) => n + (s.replicas ?? 1), 0);
  const master = specs.Master.template.spec.containers.find((c: Obj) => c.name === 'pytorch');
  const port = master.ports?.find((p: Obj) => p.name === 'pytorchjob-port')?.containerPort ?? 23456;
  let restarts = 0;
  const terminal = () => job.status.conditions.some((c: Obj) => ['Succeeded', 'Failed'].includes(c.type) && c.status === 'True');
  const cleanUp = () => {
    if ((job.spec.runPolicy?.cleanPodPolicy ?? 'None') === 'None') return;
    for (const p of ops.pods(ns, (p) => p.metadata.labels?.['training.kubeflow.org/job-name'] === name && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')) {
      ops.deletePod(ns, p.metadata.name);
    }
  };
  for (const rtype of ['Master', 'Worker']) {
    const spec = specs[rtype];
    if (!spec) continue;
    job.status.replicaStatuses[rtype] = { active: 0, succeeded: 0, failed: 0 };
    for (let i = 0; i < (spec.replicas ?? 1); i++) {
      const rank = rtype === 'Master' ? 0 : i + 1;
      const podName = `${name}-${rtype.toLowerCase()}-${i}`;
      const pod: Obj = clone(spec.template);
      const labels = { 'training.kubeflow.org/job-name': name, 'training.kubeflow.org/replica-type': rtype.toLowerCase(), 'training.kubeflow.org/replica-index': String(i), 'training.kubeflow.org/operator-name': 'pytorchjob-controller' };
      pod.metadata = { ...(pod.metadata ?? {}), name: podName, namespace: ns, labels: { ...(pod.metadata?.labels ?? {}), ...labels }, ownerReferences: [ownerRef('kubeflow.org/v1', 'PyTorchJob', job)] };
      pod.spec.restartPolicy = spec.restartPolicy ?? 'OnFailure';
      const injected = [
        { name: 'PYTHONUNBUFFERED', value: '1' },
        { name: 'MASTER_PORT', value: String(port) },
        { name: 'PET_MASTER_PORT', value: String(port) },
        { name: 'MASTER_ADDR', value: `${name}-master-0` },
        { name: 'PET_MASTER_ADDR', value: `${name}-master-0` },
        { name: 'WORLD_SIZE', value: String(total * nproc) },
        { name: 'RANK', value: String(rank) },
        { name: 'PET_NODE_RANK', value: String(rank) },
        { name: 'PET_NPROC_PER_NODE', value: String(job.spec.nprocPerNode ?? 'auto') },
        { name: 'PET_NNODES', value: String(total) },
      ];
      for (const c of pod.spec.containers) c.env = [...(c.env ?? []), ...injected];
      ops.put('services', {
        apiVersion: 'v1', kind: 'Service',
        metadata: { name: podName, namespace: ns, labels, ownerReferences: [ownerRef('kubeflow.org/v1', 'PyTorchJob', job)] },
        spec: { clusterIP: 'None', selector: labels, ports: [{ name: 'pytorchjob-port', port }] },
      });
      const rs = job.status.replicaStatuses[rtype];
      const launch = () => {
        rs.active++;
        ops.startPod(
          clone(pod),
          () => {
            if (rtype === 'Master' && !terminal()) condition(job, 'Running', 'PyTorchJobRunning', `PyTorchJob ${name} is running.`);
          },
          (code) => {
            rs.active--;
            if (terminal() || !ops.exists('pytorchjobs', ns, name)) return;
            // restartPolicy ExitCode: 128-255 are retryable (the pod is recreated), 1-127 permanent
            if (code >= 128 && spec.restartPolicy === 'ExitCode') {
              restarts++;
              if (restarts > (job.spec.runPolicy?.backoffLimit ?? 6)) {
                condition(job, 'Failed', 'PyTorchJobFailed', `PyTorchJob ${name} has failed because it has reached the specified backoff limit`);
                job.status.completionTime = now();
                cleanUp();
                return;
              }
              condition(job, 'Restarting', 'PyTorchJobRestarting', `PyTorchJob ${name} is restarting because 1 ${rtype} replica(s) failed.`);
              ops.deletePod(ns, podName);
              launch();
              return;
            }
            if (code === 0) rs.succeeded++;
            else rs.failed++;
            if (code !== 0) {
              condition(job, 'Failed', 'PyTorchJobFailed', `PyTorchJob ${name} is failed because 1 ${rtype} replica(s) failed.`);
              job.status.completionTime = now();
              cleanUp();
            } else if (rtype === 'Master') {
              condition(job, 'Succeeded', 'PyTorchJobSucceeded', `PyTorchJob ${name} is successfully completed.`);
              job.status.completionTime = now();
              cleanUp();
            }
          },
        );
      };
      launch();
    }
  }
}

/** Job validation the API server does for the fields we use. */
export function admitJob(job: Obj): void {
  const s = job.spec ?? {};
  if (s.completionMode === 'Indexed' && !(s.completions >= 1)) throw new AdmissionError('spec.completions: Required value: when completion mode is Indexed');
  if (s.podFailurePolicy && s.template?.spec?.restartPolicy !== 'Never') {
    throw new AdmissionError('spec.podFailurePolicy: Invalid value: only "Never" is supported for spec.template.spec.restartPolicy');
  }
}

/** A podFailurePolicy rule matching the pod: its exit code (onExitCodes) or one of its conditions (onPodConditions). */
function matchesRule(rule: Obj, pod: Obj, code: number): boolean {
  if (rule.onPodConditions) {
    return (rule.onPodConditions as Obj[]).some((c) => (pod.status?.conditions ?? []).some((pc: Obj) => pc.type === c.type && pc.status === (c.status ?? 'True')));
  }
  return matchesExitRule(rule, pod.spec.containers[0].name, code);
}

function matchesExitRule(rule: Obj, container: string, code: number): boolean {
  const r = rule.onExitCodes;
  if (!r || (r.containerName && r.containerName !== container)) return false;
  const inList = (r.values as number[]).includes(code);
  return r.operator === 'In' ? inList : !inList;
}

/** Runs a created Indexed Job as the Job controller would; `onFinish` when it gets its Complete or Failed condition. */
export function runIndexedJob(job: Obj, ops: ClusterOps, onFinish?: (type: 'Complete' | 'Failed', reason: string, message: string) => void): void {
  const ns = job.metadata.namespace;
  const name = job.metadata.name;
  const completions: number = job.spec.completions;
  job.status = { active: 0, succeeded: 0, failed: 0, ready: 0, startTime: now(), conditions: [] };
  const done = () => job.status.conditions.some((c: Obj) => ['Complete', 'Failed'].includes(c.type));
  const finish = (type: string, reason: string, message: string) => {
    job.status.conditions.push({ type: type === 'Complete' ? 'SuccessCriteriaMet' : 'FailureTarget', status: 'True', reason, message, lastProbeTime: now(), lastTransitionTime: now() });
    job.status.conditions.push({ type, status: 'True', reason, message, lastProbeTime: now(), lastTransitionTime: now() });
    if (type === 'Complete') job.status.completionTime = now();
    for (const p of ops.pods(ns, (p) => p.metadata.labels?.['batch.kubernetes.io/job-name'] === name && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')) {
      ops.deletePod(ns, p.metadata.name);
    }
    job.status.active = 0;
    job.status.ready = 0;
    onFinish?.(type as 'Complete' | 'Failed', reason, message);
  };
  const failedPerIndex = new Map<number, number>();
  const start = (index: number) => {
    const pod: Obj = clone(job.spec.template);
    const labels = { 'batch.kubernetes.io/job-name': name, 'job-name': name, 'batch.kubernetes.io/controller-uid': job.metadata.uid, 'batch.kubernetes.io/job-completion-index': String(index) };
    pod.metadata = {
      ...(pod.metadata ?? {}),
      name: `${name}-${index}-${randomBytes(3).toString('hex').slice(0, 5)}`,
      namespace: ns,
      labels: { ...(pod.metadata?.labels ?? {}), ...labels },
      annotations: { ...(pod.metadata?.annotations ?? {}), 'batch.kubernetes.io/job-completion-index': String(index) },
      ownerReferences: [ownerRef('batch/v1', 'Job', job)],
    };
    pod.spec.hostname = `${name}-${index}`;
    for (const c of pod.spec.containers) c.env = [...(c.env ?? []), { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } }];
    job.status.active++;
    ops.startPod(
      pod,
      () => {
        job.status.ready++;
      },
      (code) => {
        // deleted, or being deleted (a JobSet restart replaces its Jobs): the controller stops acting
        if (done() || job.metadata.deletionTimestamp || !ops.exists('jobs', ns, name)) return;
        job.status.active--;
        job.status.ready = Math.max(0, job.status.ready - 1);
        if (code === 0) {
          job.status.succeeded++;
          if (job.status.succeeded === completions) finish('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods');
          return;
        }
        job.status.failed++;
        const rules: Obj[] = job.spec.podFailurePolicy?.rules ?? [];
        const i = rules.findIndex((r) => matchesRule(r, pod, code));
        if (i >= 0 && rules[i].action === 'FailJob') {
          finish('Failed', 'PodFailurePolicy', `Container ${pod.spec.containers[0].name} for pod ${ns}/${pod.metadata.name} failed with exit code ${code} matching FailJob rule at index ${i}`);
        } else if (i >= 0 && rules[i].action === 'Ignore') {
          // not counted against any limit: the index gets a new pod
          job.status.failed--;
          start(index);
        } else if (job.spec.backoffLimitPerIndex !== undefined) {
          failedPerIndex.set(index, (failedPerIndex.get(index) ?? 0) + 1);
          if (failedPerIndex.get(index)! > job.spec.backoffLimitPerIndex) finish('Failed', 'FailedIndexes', `Job has failed indexes: ${index}`);
          else start(index);
        } else if (job.status.failed > (job.spec.backoffLimit ?? 6)) {
          finish('Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
        } else {
          start(index);
        }
      },
    );
  };
  for (let i = 0; i < completions; i++) start(i);
}
