import { finished } from 'node:stream/promises';
import type { V1ConfigMap, V1Job, V1Pod, V1Service } from '@kubernetes/client-node';
import { LauncherError } from '../../src/errors.js';
import type { DryRun, JobHandle, JobSpec, JobStatus, Launcher, LogOptions } from '../launcher.js';
import { type CustomResource, type KubeClient, PYTORCHJOB_RESOURCE, TRAINJOB_RESOURCE, TRAININGRUNTIME_RESOURCE, connect, httpStatus, servesResource } from './client.js';
import { chooseKind } from './discovery.js';
import { type K8sManifests, type K8sObject, buildManifests, renderManifests } from './manifests.js';
import type { TrainingRuntime } from './training-runtime.js';
import { type K8sKind, type K8sOptions, k8sOptionsFromFlags } from './options.js';
import { JOB_NAME_LABEL, NPROC_ANNOTATION, configMapName } from './pod.js';
import { DEFAULT_TRAINING_RUNTIME, TRAINER_MASTER_PORT } from './trainjob.js';
import { GENUINE_FAILURE_RULE, renderedRuntimeName } from './training-runtime.js';
import { PREEMPTED_EXIT_CODE } from './pod-failure-policy.js';
import { RankFilter } from './rank-filter.js';
import {
  type JobRef,
  type Phase,
  agentContainer,
  containerStarted,
  describeFailure,
  firstFailure,
  formatJobId,
  indexedJobPhase,
  nodePod,
  parseJobId,
  podSelector,
  pytorchJobPhase,
  trainJobPhase,
} from './status.js';

/** The custom resources among the kinds (the Indexed Job is batch/v1). */
const CUSTOM: Partial<Record<K8sKind, CustomResource>> = { pytorchjob: PYTORCHJOB_RESOURCE, trainjob: TRAINJOB_RESOURCE };
/** group/version/plural as CustomObjectsApi takes them. */
const gvp = (r: CustomResource) => ({ group: r.group, version: r.version, plural: r.plural });
/** Kind name -> our kind, for objects we create and delete. */
const KIND_OF: Record<string, K8sKind> = { PyTorchJob: 'pytorchjob', TrainJob: 'trainjob' };
const DEFAULT_POLL_MS = 5000;
/** Lines of the failed pod's log `ssl jobs status` and `--wait` show. */
export const LOG_TAIL_LINES = 10;

/** What `submit` creates: the objects, and the options they were built with. */
export interface K8sRequest extends K8sManifests {
  options: K8sOptions;
  /** How the kind was chosen (printed as comments above the YAML). */
  notes: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A kind was asked for that the cluster does not serve (its CRD is not installed); `instead`: what `auto` would choose there. */
export const crdMissingError = (kind: K8sKind, instead: K8sKind = 'indexed-job') => {
  const use = `use --k8s-kind ${instead} (what this cluster serves; --k8s-kind auto chooses it)`;
  return kind === 'trainjob'
    ? new LauncherError(`the cluster does not serve trainer.kubeflow.org/v1alpha1 TrainJob (Kubeflow Trainer v2 is not installed); ${use}, or install the Trainer`, {
        code: 'K8S_NO_TRAINJOB_CRD',
      })
    : new LauncherError(`the cluster does not serve kubeflow.org/v1 PyTorchJob (the Kubeflow training operator is not installed); ${use}, or install the operator`, {
        code: 'K8S_NO_PYTORCHJOB_CRD',
      });
};

/** The error for a kind the cluster does not serve, naming the kind it does. */
async function kindNotServed(c: KubeClient, kind: K8sKind): Promise<LauncherError> {
  return crdMissingError(kind, (await chooseKind(c).catch(() => undefined))?.kind);
}

/** What a TrainJob's YAML says above it: what differs from the other kinds. */
function trainJobNotes(job: JobSpec, opts: K8sOptions, m: K8sManifests): string[] {
  const rendered = m.objects.find((o) => o.kind === 'TrainingRuntime') as TrainingRuntime | undefined;
  const notes = rendered
    ? [
        `TrainJob on TrainingRuntime ${rendered.metadata.name} (rendered by ssl, created or replaced before the TrainJob): its JobSet failurePolicy ` +
          `restarts the pods at most ${rendered.spec.template.spec.failurePolicy.maxRestarts} times (--max-restarts); exit ${PREEMPTED_EXIT_CODE} and ` +
          `DisruptionTarget replace a pod uncounted; any other non-zero exit fails the JobSet at once (rule ${GENUINE_FAILURE_RULE})`,
      ]
    : [`TrainJob on ClusterTrainingRuntime ${opts.runtime ?? DEFAULT_TRAINING_RUNTIME}: restarts follow the runtime's JobSet failurePolicy (--max-restarts does not apply; --render-runtime applies it)`];
  if (job.port !== TRAINER_MASTER_PORT) notes.push(`rendezvous port ${TRAINER_MASTER_PORT} (the Trainer's PET_MASTER_PORT), not --port ${job.port}`);
  return notes;
}

/**
 * Kubernetes launcher: a PyTorchJob (Kubeflow training operator), a TrainJob (Kubeflow Trainer v2) or an Indexed Job with a headless Service,
 * each pod running `ssl-agent --nproc-per-node G -- <worker args>`. Job ids are `<namespace>/<kind>/<name>`.
 */
export class K8sLauncher implements Launcher<K8sRequest, Record<string, unknown>> {
  readonly name = 'k8s';
  private readonly clients = new Map<string, Promise<KubeClient>>();

  constructor(private readonly base: K8sOptions = {}) {}

  private client(opts: K8sOptions = this.base): Promise<KubeClient> {
    const key = JSON.stringify([opts.kubeconfig, opts.context, opts.namespace]);
    let c = this.clients.get(key);
    if (!c) {
      c = connect(opts);
      c.catch(() => this.clients.delete(key));
      this.clients.set(key, c);
    }
    return c;
  }

  private get pollMs(): number {
    return this.base.pollIntervalMs ?? DEFAULT_POLL_MS;
  }

  async dryRun(job: JobSpec, flags: Record<string, unknown> = {}): Promise<DryRun<K8sRequest>> {
    const opts: K8sOptions = { ...this.base, ...k8sOptionsFromFlags(flags) };
    const notes: string[] = [];
    let kind: K8sKind | undefined = opts.kind === 'auto' ? undefined : opts.kind;
    let namespace = opts.namespace;
    if (!kind || !namespace) {
      // Ask the cluster for what the flags leave open; a dry run still renders without one.
      try {
        const c = await this.client(opts);
        namespace ??= c.namespace;
        if (!kind) {
          const choice = await chooseKind(c);
          kind = choice.kind;
          notes.push(choice.reason);
        }
      } catch (e) {
        namespace ??= 'default';
        if (!kind) {
          kind = 'pytorchjob';
          notes.push(`kind pytorchjob (default): could not ask the cluster (${(e as Error).message}); pass --k8s-kind to choose`);
        }
      }
    }
    const manifests = buildManifests(job, opts, kind, namespace);
    if (kind === 'trainjob') notes.push(...trainJobNotes(job, opts, manifests));
    const request: K8sRequest = { ...manifests, options: opts, notes };
    return { launcher: this.name, job, request, render: () => renderManifests(manifests, notes) };
  }

  async submit(dry: DryRun<K8sRequest>): Promise<JobHandle> {
    return this.submitRequest(dry.request, { emptyWorkDir: !dry.request.options.pvc && !dry.job.workerArgs.includes('--s3') });
  }

  /** Creates a request's objects in order (deleting those created when one fails); `ssl sweep` submits its labelled objects this way. */
  async submitRequest(req: K8sRequest, o: { emptyWorkDir?: boolean } = {}): Promise<JobHandle> {
    const c = await this.client(req.options);
    const custom = CUSTOM[req.kind];
    if (custom && !(await servesResource(c, custom))) throw await kindNotServed(c, req.kind);
    if (o.emptyWorkDir) {
      process.stderr.write('Warning: the work dir is an emptyDir: checkpoints and logs are lost when the pods end; pass --pvc NAME or --s3 s3://bucket/prefix\n');
    }
    const created: K8sObject[] = [];
    try {
      for (const obj of req.objects) {
        await this.create(c, req.namespace, obj);
        created.push(obj);
      }
    } catch (e) {
      for (const obj of created.reverse()) await this.deleteObject(c, req.namespace, obj.kind!, obj.metadata!.name!).catch(() => undefined);
      throw e;
    }
    // a request of only a job (a sweep's evaluation stage, on its training job's ConfigMap) owns nothing else
    if (req.objects.some((o) => o.kind === 'ConfigMap')) await this.adopt(c, req).catch((e: Error) => {
      process.stderr.write(`Warning: could not make the job own its ConfigMap/Service/TrainingRuntime (${e.message}); ssl jobs cancel deletes them\n`);
    });
    return { launcher: this.name, id: formatJobId({ namespace: req.namespace, kind: req.kind, name: req.jobName }) };
  }

  private async create(c: KubeClient, namespace: string, obj: K8sObject): Promise<void> {
    switch (obj.kind) {
      case 'ConfigMap':
        await c.call('create', 'configmaps', () => c.core.createNamespacedConfigMap({ namespace, body: obj as V1ConfigMap }));
        return;
      case 'Service':
        await c.call('create', 'services', () => c.core.createNamespacedService({ namespace, body: obj as V1Service }));
        return;
      case 'Job':
        await c.call('create', 'jobs.batch', () => c.batch.createNamespacedJob({ namespace, body: obj as V1Job }));
        return;
      case 'TrainingRuntime':
        await this.apply(c, namespace, TRAININGRUNTIME_RESOURCE, obj);
        return;
      case 'PyTorchJob':
      case 'TrainJob': {
        const r = CUSTOM[KIND_OF[obj.kind]]!;
        try {
          await c.call('create', `${r.plural}.${r.group}`, () => c.custom.createNamespacedCustomObject({ ...gvp(r), namespace, body: obj }));
        } catch (e) {
          if ((e as LauncherError).code === 'K8S_NOT_FOUND') throw await kindNotServed(c, KIND_OF[obj.kind]);
          throw e;
        }
        return;
      }
      default:
        throw new LauncherError(`cannot create a ${obj.kind}`);
    }
  }

  /**
   * Idempotent apply of an object ssl owns by name: create it, or replace the one left by an earlier submit of the
   * same --job-name (its resourceVersion, as an update requires).
   */
  private async apply(c: KubeClient, namespace: string, r: CustomResource, obj: K8sObject): Promise<void> {
    const what = `${r.plural}.${r.group}`;
    const name = obj.metadata!.name!;
    try {
      await c.call('create', what, () => c.custom.createNamespacedCustomObject({ ...gvp(r), namespace, body: obj }));
      return;
    } catch (e) {
      if ((e as LauncherError).code !== 'K8S_CONFLICT') throw e;
    }
    // a TrainJob of this name still runs on it: stop as creating the TrainJob would, before changing its runtime
    const jobName = obj.metadata!.labels?.[JOB_NAME_LABEL];
    if (jobName && (await this.readJob(c, { namespace, kind: 'trainjob', name: jobName }).catch(() => undefined))) {
      throw new LauncherError(`trainjobs.trainer.kubeflow.org "${jobName}" already exists in namespace "${namespace}"; choose another --job-name or cancel the old job (ssl jobs cancel)`, {
        code: 'K8S_CONFLICT',
      });
    }
    const old = (await c.call('get', what, () => c.custom.getNamespacedCustomObject({ ...gvp(r), namespace, name }))) as { metadata?: { resourceVersion?: string } };
    const body = { ...obj, metadata: { ...obj.metadata, resourceVersion: old.metadata?.resourceVersion } };
    await c.call('update', what, () => c.custom.replaceNamespacedCustomObject({ ...gvp(r), namespace, name, body }));
  }

  /** Owner references from the job to its ConfigMap and Service, so deleting the job (or its TTL) removes them too. */
  private async adopt(c: KubeClient, req: K8sRequest): Promise<void> {
    const k8s = await import('@kubernetes/client-node');
    const ns = req.namespace;
    const job = await this.readJob(c, { namespace: ns, kind: req.kind, name: req.jobName });
    const uid = job.metadata?.uid;
    if (!uid) return;
    const custom = CUSTOM[req.kind];
    const owner = {
      apiVersion: custom ? `${custom.group}/${custom.version}` : 'batch/v1',
      kind: custom ? custom.kind : 'Job',
      name: req.jobName,
      uid,
    };
    const body = { metadata: { ownerReferences: [owner] } };
    const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
    await c.call('patch', 'configmaps', () => c.core.patchNamespacedConfigMap({ name: configMapName(req.jobName), namespace: ns, body }, merge));
    if (req.kind === 'indexed-job') {
      await c.call('patch', 'services', () => c.core.patchNamespacedService({ name: req.jobName, namespace: ns, body }, merge));
    }
    const runtime = req.objects.find((o) => o.kind === 'TrainingRuntime');
    if (runtime) {
      const r = TRAININGRUNTIME_RESOURCE;
      const name = runtime.metadata!.name!;
      await c.call('patch', `${r.plural}.${r.group}`, () => c.custom.patchNamespacedCustomObject({ ...gvp(r), namespace: ns, name, body }, merge));
    }
  }

  /** Resolves an id to a job that exists (looking up its kind when the id is a bare name). */
  private async resolve(id: string): Promise<{ c: KubeClient; ref: JobRef; job: Record<string, any> }> {
    const c = await this.client();
    const parsed = parseJobId(id, c.namespace);
    const kinds: K8sKind[] = parsed.kind ? [parsed.kind] : ['pytorchjob', 'indexed-job', 'trainjob'];
    for (const kind of kinds) {
      const ref = { ...parsed, kind };
      try {
        return { c, ref, job: await this.readJob(c, ref) };
      } catch (e) {
        if ((e as LauncherError).code !== 'K8S_NOT_FOUND') throw e;
      }
    }
    throw new LauncherError(`no Kubernetes job "${parsed.name}" in namespace "${parsed.namespace}" (finished jobs are removed after their TTL)`, {
      code: 'K8S_NOT_FOUND',
    });
  }

  private async readJob(c: KubeClient, ref: JobRef): Promise<Record<string, any>> {
    const custom = CUSTOM[ref.kind];
    if (custom) {
      return c.call('get', `${custom.plural}.${custom.group}`, () => c.custom.getNamespacedCustomObject({ ...gvp(custom), namespace: ref.namespace, name: ref.name }));
    }
    return c.call('get', 'jobs.batch', () => c.batch.readNamespacedJob({ name: ref.name, namespace: ref.namespace })) as Promise<Record<string, any>>;
  }

  private async pods(c: KubeClient, ref: JobRef): Promise<V1Pod[]> {
    const list = await c.call('list', 'pods', () => c.core.listNamespacedPod({ namespace: ref.namespace, labelSelector: podSelector(ref) }));
    return list.items;
  }

  async status(id: string): Promise<JobStatus> {
    const { c, ref, job } = await this.resolve(id);
    const pods = ref.kind === 'pytorchjob' ? undefined : await this.pods(c, ref);
    const phase: Phase =
      ref.kind === 'pytorchjob' ? pytorchJobPhase(job) : ref.kind === 'trainjob' ? trainJobPhase(job, pods!) : indexedJobPhase(job as V1Job, pods!);
    const status: JobStatus = { id: formatJobId(ref), state: phase.state, message: phase.detail ? `${phase.phase}: ${phase.detail}` : phase.phase };
    if (phase.state === 'SUCCEEDED') status.exitCode = 0;
    if (phase.state === 'FAILED') {
      const container = agentContainer(ref.kind);
      const failed = firstFailure(pods ?? (await this.pods(c, ref)), container);
      status.exitCode = failed?.code ?? 1;
      if (failed) {
        status.message = `${status.message}; ${describeFailure(failed)}`;
        const lines = await this.logTail(c, ref.namespace, failed.pod, container, failed.previous);
        if (lines) status.logTail = { source: `pod ${failed.pod}`, lines };
      }
    }
    return status;
  }

  /** The last lines of a container's log; undefined when it cannot be read (pod already removed, no RBAC for pods/log). */
  private async logTail(c: KubeClient, namespace: string, name: string, container: string, previous = false): Promise<string[] | undefined> {
    try {
      const text = await c.core.readNamespacedPodLog({ name, namespace, container, tailLines: LOG_TAIL_LINES, ...(previous ? { previous } : {}) });
      const lines = String(text ?? '').replace(/\n$/, '').split('\n');
      return lines.length === 1 && lines[0] === '' ? [] : lines;
    } catch {
      return undefined;
    }
  }

  async wait(id: string): Promise<JobStatus> {
    let last: JobStatus | undefined;
    for (;;) {
      try {
        last = await this.status(id);
      } catch (e) {
        // Deleted while we waited (ssl jobs cancel, kubectl delete): it was cancelled.
        if (last && (e as LauncherError).code === 'K8S_NOT_FOUND') return { ...last, state: 'CANCELLED', exitCode: 1, message: 'deleted' };
        throw e;
      }
      if (last.state === 'SUCCEEDED' || last.state === 'FAILED' || last.state === 'CANCELLED') return last;
      await sleep(this.pollMs);
    }
  }

  async logs(id: string, out: NodeJS.WritableStream, options: LogOptions = {}): Promise<void> {
    const { c, ref, job } = await this.resolve(id);
    const rank = options.rank ?? 0;
    const nproc = Number(job.metadata?.annotations?.[NPROC_ANNOTATION] ?? job.spec?.nprocPerNode ?? job.spec?.trainer?.numProcPerNode ?? 1) || 1;
    const container = agentContainer(ref.kind);
    const node = Math.floor(rank / nproc);
    let pod: V1Pod | undefined;
    for (;;) {
      pod = nodePod(ref, await this.pods(c, ref), node);
      if (pod && containerStarted(pod, container)) break;
      if (!options.follow) throw new LauncherError(`the pod of rank ${rank} (node ${node}) of ${formatJobId(ref)} has ${pod ? 'not started yet' : 'not been created yet'}; retry or use --follow`);
      const s = await this.status(id);
      if (s.state === 'SUCCEEDED' || s.state === 'FAILED' || s.state === 'CANCELLED') {
        if (pod) break;
        throw new LauncherError(`${formatJobId(ref)} ended ${s.state} before the pod of rank ${rank} started${s.message ? ` (${s.message})` : ''}`);
      }
      await sleep(this.pollMs);
    }
    const k8s = await import('@kubernetes/client-node');
    const sink = new RankFilter(out, nproc > 1 ? rank : undefined);
    const podName = pod.metadata!.name!;
    await c.call('get', 'pods/log', () => new k8s.Log(c.kc).log(ref.namespace, podName, container, sink, { follow: Boolean(options.follow) }));
    await finished(sink);
  }

  async cancel(id: string): Promise<void> {
    const { c, ref, job } = await this.resolve(id);
    await this.deleteObject(c, ref.namespace, CUSTOM[ref.kind]?.kind ?? 'Job', ref.name);
    await c.call('deletecollection', 'pods', () => c.core.deleteCollectionNamespacedPod({ namespace: ref.namespace, labelSelector: podSelector(ref) }));
    if (ref.kind === 'indexed-job') await this.deleteObject(c, ref.namespace, 'Service', ref.name);
    // the TrainingRuntime --render-runtime created for this job (never a runtime the job only referenced)
    const runtimeRef = job.spec?.runtimeRef as { kind?: string; name?: string } | undefined;
    if (ref.kind === 'trainjob' && runtimeRef?.kind === 'TrainingRuntime' && runtimeRef.name === renderedRuntimeName(ref.name)) {
      await this.deleteObject(c, ref.namespace, 'TrainingRuntime', runtimeRef.name);
    }
    await this.deleteObject(c, ref.namespace, 'ConfigMap', configMapName(ref.name));
  }

  /** Deletes one object with its dependents (background propagation); already gone is fine. */
  private async deleteObject(c: KubeClient, namespace: string, kind: string, name: string): Promise<void> {
    const propagationPolicy = 'Background';
    try {
      const custom = kind === 'TrainingRuntime' ? TRAININGRUNTIME_RESOURCE : CUSTOM[KIND_OF[kind]];
      if (custom) {
        await c.call('delete', `${custom.plural}.${custom.group}`, () => c.custom.deleteNamespacedCustomObject({ ...gvp(custom), namespace, name, propagationPolicy }));
      } else if (kind === 'Job') {
        await c.call('delete', 'jobs.batch', () => c.batch.deleteNamespacedJob({ name, namespace, propagationPolicy }));
      } else if (kind === 'Service') {
        await c.call('delete', 'services', () => c.core.deleteNamespacedService({ name, namespace }));
      } else if (kind === 'ConfigMap') {
        await c.call('delete', 'configmaps', () => c.core.deleteNamespacedConfigMap({ name, namespace }));
      }
    } catch (e) {
      if ((e as LauncherError).code !== 'K8S_NOT_FOUND' && httpStatus((e as Error).cause) !== 404) throw e;
    }
  }
}
