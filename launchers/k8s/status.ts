import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { LauncherError } from '../../src/errors.js';
import type { JobState } from '../launcher.js';
import { K8S_KINDS, type K8sKind } from './options.js';
import { COMPLETION_INDEX_ANNOTATION, CONTAINER, JOB_NAME_LABEL } from './pod.js';
import { TRAINER_NODE } from './trainjob.js';

/** Label the Trainer's JobSet puts on every pod of a TrainJob (the JobSet is named after the TrainJob). */
export const JOBSET_NAME_LABEL = 'jobset.sigs.k8s.io/jobset-name';
/** Which of a TrainJob's replicated Jobs a pod belongs to (the torch runtime has one, `node`, with one Job). */
export const JOBSET_JOB_INDEX_LABEL = 'jobset.sigs.k8s.io/job-index';

/** The label selector of a job's pods: the Trainer's JobSet label for a TrainJob (set on pods whoever made it), else ours. */
export const podSelector = (ref: JobRef): string => (ref.kind === 'trainjob' ? `${JOBSET_NAME_LABEL}=${ref.name}` : `${JOB_NAME_LABEL}=${ref.name}`);

/** The container that runs the agent: the torch runtime's `node` in a TrainJob, `pytorch` in the other kinds. */
export const agentContainer = (kind: K8sKind): string => (kind === 'trainjob' ? TRAINER_NODE : CONTAINER);

/** Where a job lives. Its id is `<namespace>/<kind>/<name>`, e.g. `default/pytorchjob/simclr-a1b2c`. */
export interface JobRef {
  namespace: string;
  kind: K8sKind;
  name: string;
}

export const formatJobId = (r: JobRef): string => `${r.namespace}/${r.kind}/${r.name}`;

/**
 * Parses `<namespace>/<kind>/<name>`, `<kind>/<name>` or `<name>` (namespace from `--namespace`/the context;
 * kind looked up on the cluster when absent).
 */
export function parseJobId(id: string, defaultNamespace: string): { namespace: string; kind?: K8sKind; name: string } {
  const parts = id.split('/');
  const isKind = (k: string): k is K8sKind => (K8S_KINDS as readonly string[]).includes(k);
  if (parts.length === 3 && isKind(parts[1]) && parts[0] && parts[2]) return { namespace: parts[0], kind: parts[1], name: parts[2] };
  if (parts.length === 2 && isKind(parts[0]) && parts[1]) return { namespace: defaultNamespace, kind: parts[0], name: parts[1] };
  if (parts.length === 1 && parts[0]) return { namespace: defaultNamespace, name: parts[0] };
  throw new LauncherError(`"${id}" is not a Kubernetes job id; expected <namespace>/<kind>/<name> with kind ${K8S_KINDS.join(' or ')}, or a job name`);
}

/** The job's phase in the PyTorchJob operator's words (Created, Running, Restarting, Succeeded, Failed, Suspended). */
export interface Phase {
  state: JobState;
  phase: string;
  detail?: string;
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

const PYTORCHJOB_STATES: Record<string, JobState> = {
  Created: 'PENDING',
  Suspended: 'PENDING',
  Running: 'RUNNING',
  Restarting: 'RUNNING',
  Succeeded: 'SUCCEEDED',
  Failed: 'FAILED',
};

/** Phase of a PyTorchJob: its last condition with status True (the operator's printer column `State`). */
export function pytorchJobPhase(obj: { status?: { conditions?: Condition[] } }): Phase {
  const active = (obj.status?.conditions ?? []).filter((c) => c.status === 'True');
  const last = active[active.length - 1];
  if (!last?.type) return { state: 'PENDING', phase: 'Submitted' };
  return { state: PYTORCHJOB_STATES[last.type] ?? 'UNKNOWN', phase: last.type, detail: last.message };
}

/**
 * Phase of a TrainJob (Kubeflow Trainer v2): its Failed or Complete condition (the Trainer copies the JobSet's),
 * Suspended; else the pods say whether it runs (the Trainer sets no Running condition; older ones set Created).
 */
export function trainJobPhase(obj: { spec?: { trainer?: { numNodes?: number } }; status?: { conditions?: Condition[] } }, pods: V1Pod[]): Phase {
  const conds = (obj.status?.conditions ?? []).filter((c) => c.status === 'True');
  const detail = (c: Condition) => [c.reason, c.message].filter(Boolean).join(': ') || undefined;
  const failed = conds.find((c) => c.type === 'Failed');
  if (failed) return { state: 'FAILED', phase: 'Failed', detail: detail(failed) };
  const complete = conds.find((c) => c.type === 'Complete');
  if (complete) return { state: 'SUCCEEDED', phase: 'Succeeded' };
  if (conds.some((c) => c.type === 'Suspended')) return { state: 'PENDING', phase: 'Suspended' };
  const nodes = obj.spec?.trainer?.numNodes ?? '?';
  return podsPhase(pods, nodes) ?? { state: 'PENDING', phase: 'Created', detail: `${pods.filter((p) => p.status?.phase === 'Pending').length}/${nodes} pods pending` };
}

/**
 * Running once any pod runs or has run: between the last pod finishing and the controller's Complete/Failed
 * condition, the pods are Succeeded and none is Running, and the job must not read as Created again.
 */
function podsPhase(pods: V1Pod[], nodes: number | string): Phase | undefined {
  const count = (phase: string) => pods.filter((p) => p.status?.phase === phase).length;
  const running = count('Running');
  const finished = count('Succeeded') + count('Failed');
  if (running === 0 && finished === 0) return undefined;
  const detail = [`${running}/${nodes} pods running`, finished > 0 ? `${finished} finished` : ''].filter(Boolean).join(', ');
  return { state: 'RUNNING', phase: 'Running', detail };
}

/** Phase of an Indexed Job in the same words: Complete -> Succeeded, Failed/FailureTarget -> Failed, a running pod -> Running. */
export function indexedJobPhase(job: V1Job, pods: V1Pod[]): Phase {
  const conds = (job.status?.conditions ?? []).filter((c) => c.status === 'True');
  const failed = conds.find((c) => c.type === 'Failed' || c.type === 'FailureTarget');
  if (failed) return { state: 'FAILED', phase: 'Failed', detail: [failed.reason, failed.message].filter(Boolean).join(': ') || undefined };
  if (conds.some((c) => c.type === 'Complete')) return { state: 'SUCCEEDED', phase: 'Succeeded' };
  if (conds.some((c) => c.type === 'Suspended')) return { state: 'PENDING', phase: 'Suspended' };
  return podsPhase(pods, job.spec?.parallelism ?? '?') ?? { state: 'PENDING', phase: 'Created', detail: `${job.status?.active ?? 0} pods pending` };
}

/** The first container that failed (by finish time): its pod, exit code and the kubelet's reason (OOMKilled, Error...). */
export function firstFailure(pods: V1Pod[], container = CONTAINER): Failure | undefined {
  const failures: (Failure & { at: number })[] = [];
  for (const p of pods) {
    for (const cs of p.status?.containerStatuses ?? []) {
      // a container restarted in place (restartPolicy OnFailure) keeps its failure in lastState: its log is the previous one
      const previous = !cs.state?.terminated && Boolean(cs.lastState?.terminated);
      const t = cs.state?.terminated ?? cs.lastState?.terminated;
      if (cs.name === container && t && t.exitCode !== 0) {
        const at = t.finishedAt ? new Date(t.finishedAt).getTime() : 0;
        failures.push({ at, pod: p.metadata?.name ?? '?', code: t.exitCode, ...(t.reason ? { reason: t.reason } : {}), ...(previous ? { previous } : {}) });
      }
    }
  }
  failures.sort((a, b) => a.at - b.at);
  const f = failures[0];
  return f && { pod: f.pod, code: f.code, ...(f.reason ? { reason: f.reason } : {}), ...(f.previous ? { previous: true } : {}) };
}

/** The container that failed first: its pod, exit code, the kubelet's reason, and whether it has been restarted since. */
export interface Failure {
  pod: string;
  code: number;
  reason?: string;
  previous?: boolean;
}

/** Exit code of the first container that failed (by finish time), e.g. 137 for a killed node; undefined if none. */
export function firstFailureExitCode(pods: V1Pod[]): number | undefined {
  return firstFailure(pods)?.code;
}

/** `pod P exited 137 (OOMKilled)`: which pod failed and why, for `ssl jobs status` and `--wait`. */
export function describeFailure(f: { pod: string; code: number; reason?: string }): string {
  return `pod ${f.pod} exited ${f.code}${f.reason ? ` (${f.reason})` : ''}`;
}

/**
 * The pod of node `node` (newest attempt): PyTorchJob `<job>-master-0` / `<job>-worker-<node-1>`, Indexed Job by
 * completion index, TrainJob by completion index in the JobSet's Job 0 (`<job>-node-0-<node>-xxxxx`).
 */
export function nodePod(ref: JobRef, pods: V1Pod[], node: number): V1Pod | undefined {
  const byIndex = (p: V1Pod) => p.metadata?.annotations?.[COMPLETION_INDEX_ANNOTATION] === String(node);
  const matches =
    ref.kind === 'pytorchjob'
      ? pods.filter((p) => p.metadata?.name === (node === 0 ? `${ref.name}-master-0` : `${ref.name}-worker-${node - 1}`))
      : ref.kind === 'trainjob'
        ? pods.filter((p) => byIndex(p) && (p.metadata?.labels?.[JOBSET_JOB_INDEX_LABEL] ?? '0') === '0')
        : pods.filter(byIndex);
  const time = (p: V1Pod) => (p.metadata?.creationTimestamp ? new Date(p.metadata.creationTimestamp).getTime() : 0);
  return matches.sort((a, b) => time(b) - time(a))[0];
}

/** Whether the pod's agent container has started (running or already terminated): its log can be read. */
export function containerStarted(pod: V1Pod, container = CONTAINER): boolean {
  const cs = (pod.status?.containerStatuses ?? []).find((c) => c.name === container);
  return Boolean(cs?.state?.running || cs?.state?.terminated);
}
