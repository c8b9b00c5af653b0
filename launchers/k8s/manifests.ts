import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { V1ConfigMap, V1EnvVar, V1Job, V1ObjectMeta, V1Service } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { LauncherError } from '../../src/errors.js';
import { DEFAULT_TERMINATION_GRACE_PERIOD, type JobSpec } from '../launcher.js';
import { k8sJobName } from './names.js';
import type { K8sKind, K8sOptions } from './options.js';
import { preemptionPodFailurePolicy } from './pod-failure-policy.js';
import { DEFAULT_TRAINING_RUNTIME, TRAINER_MASTER_PORT, type TrainJob, trainJob } from './trainjob.js';
import { type TrainingRuntime, renderedRuntimeName, trainingRuntime } from './training-runtime.js';
import {
  CONFIG_KEY,
  CONTAINER,
  INDEXED_PORT_NAME,
  JOB_NAME_LABEL,
  NPROC_ANNOTATION,
  type PodParams,
  WORK_MOUNT,
  configMapName,
  jobLabels,
  podTemplate,
} from './pod.js';

/** The custom resource of the Kubeflow training operator (kubeflow.org/v1), as we build it. */
export interface PyTorchJob {
  apiVersion: 'kubeflow.org/v1';
  kind: 'PyTorchJob';
  metadata: V1ObjectMeta;
  spec: {
    nprocPerNode: string;
    runPolicy: { cleanPodPolicy: string; backoffLimit: number; ttlSecondsAfterFinished: number };
    pytorchReplicaSpecs: Record<string, { replicas: number; restartPolicy: string; template: ReturnType<typeof podTemplate> }>;
  };
}

export type K8sObject = V1ConfigMap | V1Service | V1Job | PyTorchJob | TrainJob | TrainingRuntime;

/** What `submit` creates, in order: ConfigMap, (headless Service | TrainingRuntime), then the job itself. */
export interface K8sManifests {
  namespace: string;
  kind: K8sKind;
  jobName: string;
  objects: K8sObject[];
}

export const DEFAULT_TTL_SECONDS = 86400;
/** `--max-restarts` default: restarts of the pod group (PyTorchJob backoffLimit, Indexed Job backoffLimitPerIndex). */
export const DEFAULT_MAX_RESTARTS = 3;
/** What the agent exits with instead in PyTorchJob pods: 128 + SIGTERM, which restartPolicy ExitCode retries. */
export const PYTORCHJOB_PREEMPTED_EXIT_CODE = 143;
/** Environment names that hold credentials: never written into a manifest. */
const SECRET_ENV = /SECRET|TOKEN|PASSWORD|ACCESS_KEY/i;
/** ConfigMaps hold at most 1 MiB. */
const CONFIGMAP_LIMIT = 1024 * 1024;

/** Splits `--s3 U`, `--s3-endpoint E` and `--port P` out of the launcher-neutral worker args (the pod gets them in a fixed order). */
export function splitWorkerArgs(args: string[]): { s3Uri?: string; s3Endpoint?: string; rest: string[] } {
  const out: { s3Uri?: string; s3Endpoint?: string; rest: string[] } = { rest: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--s3') out.s3Uri = args[++i];
    else if (a === '--s3-endpoint') out.s3Endpoint = args[++i];
    else if (a === '--port') i++;
    else out.rest.push(a);
  }
  return out;
}

/** Pod parameters of a job: name checked or derived, processes per node = GPUs per node (else procsPerNode). */
export function podParams(job: JobSpec, opts: K8sOptions, kind: K8sKind): PodParams {
  if (!opts.image) {
    throw new LauncherError('--image is required with --launcher k8s: a container image with ssl installed (build one from launchers/k8s/Dockerfile)', {
      code: 'K8S_NO_IMAGE',
    });
  }
  if (!Number.isInteger(job.nodes) || job.nodes < 1) throw new LauncherError(`--nodes must be a positive integer, got ${job.nodes}`);
  const jobName = k8sJobName(opts.jobName ?? job.name, job.runId, opts.jobName !== undefined);
  const split = splitWorkerArgs(job.workerArgs);
  const { s3Uri, s3Endpoint } = split;
  // pods are pre-emptible and restarted: SIGTERM checkpoints, and every (re)start resumes from the newest checkpoint
  const freshOk = split.rest.includes('--auto-resume=fresh-ok');
  const rest = split.rest.filter((a) => a !== '--auto-resume' && a !== '--auto-resume=fresh-ok' && a !== '--checkpoint-on-signal');
  rest.push('--checkpoint-on-signal', freshOk ? '--auto-resume=fresh-ok' : '--auto-resume');
  const secretLike = Object.keys(job.env).filter((k) => SECRET_ENV.test(k));
  if (secretLike.length > 0) {
    throw new LauncherError(`${secretLike.join(', ')} would be written into the manifests; keep credentials in a Secret and pass --s3-secret NAME`, {
      code: 'K8S_SECRET_IN_ENV',
    });
  }
  const env: V1EnvVar[] = Object.entries(job.env).map(([name, value]) => ({ name, value }));
  return {
    jobName,
    runId: job.runId,
    kind,
    image: opts.image,
    nodes: job.nodes,
    nprocPerNode: job.gpusPerNode > 0 ? job.gpusPerNode : Math.max(1, job.procsPerNode),
    gpusPerNode: job.gpusPerNode,
    // the Trainer's torch plugin injects PET_MASTER_PORT (the agent's env wins over --port): render the same port
    port: kind === 'trainjob' ? TRAINER_MASTER_PORT : job.port,
    configFile: configFileName(job.configPath),
    workDir: `${WORK_MOUNT}/${basename(job.workDir)}`,
    s3Uri,
    s3Endpoint,
    s3Secret: opts.s3Secret,
    pvc: opts.pvc,
    workerArgs: rest,
    env,
    appDir: opts.appDir ?? '/opt/ssl',
    serviceAccount: opts.serviceAccount,
    imagePullPolicy: opts.imagePullPolicy,
    terminationGracePeriod: job.terminationGracePeriod ?? DEFAULT_TERMINATION_GRACE_PERIOD,
  };
}

/** ConfigMap key of the resolved config: `<config name>.yaml` (MMSelfSup names the experiment after it), else config.yaml. */
export function configFileName(configPath: string): string {
  const name = `${basename(configPath, extname(configPath))}.yaml`;
  return /^[-._a-zA-Z0-9]+$/.test(name) && name.length <= 253 ? name : CONFIG_KEY;
}

/** The resolved config as the pods see it: the launcher's JSON file with `work_dir` pointing into the pod. */
export function configMapText(configPath: string, podWorkDir: string): string {
  const cfg = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  const text = stringify({ ...cfg, work_dir: podWorkDir });
  if (Buffer.byteLength(text) > CONFIGMAP_LIMIT) {
    throw new LauncherError(`the resolved config is ${Buffer.byteLength(text)} bytes; a ConfigMap holds at most 1 MiB`);
  }
  return text;
}

/** Builds every object of the job. Pure apart from reading `job.configPath`. */
export function buildManifests(job: JobSpec, opts: K8sOptions, kind: K8sKind, namespace: string): K8sManifests {
  const p = podParams(job, opts, kind);
  const labels = jobLabels(p);
  const meta = (name: string, extra: Partial<V1ObjectMeta> = {}): V1ObjectMeta => ({ name, namespace, labels: { ...labels }, ...extra });
  const annotations = { [NPROC_ANNOTATION]: String(p.nprocPerNode) };
  const objects: K8sObject[] = [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(configMapName(p.jobName)), data: { [p.configFile]: configMapText(job.configPath, p.workDir) } },
  ];
  const maxRestarts = opts.maxRestarts ?? DEFAULT_MAX_RESTARTS;
  const ttl = opts.ttlSecondsAfterFinished ?? DEFAULT_TTL_SECONDS;
  if (opts.renderRuntime && kind !== 'trainjob') {
    throw new LauncherError(`--render-runtime renders a TrainingRuntime for a TrainJob; this job is a ${kind}: pass --k8s-kind trainjob or drop --render-runtime`);
  }
  if (kind === 'trainjob' && opts.renderRuntime) {
    if (opts.runtime !== undefined) {
      throw new LauncherError(`--runtime names an existing ClusterTrainingRuntime and --render-runtime makes ssl render its own TrainingRuntime; pass one of them`);
    }
    // the runtime first: the Trainer's webhook rejects a TrainJob whose runtime does not exist yet
    const runtime = trainingRuntime(p, meta(renderedRuntimeName(p.jobName)), maxRestarts);
    objects.push(runtime, trainJob(p, meta(p.jobName, { annotations }), { name: runtime.metadata.name!, kind: 'TrainingRuntime' }));
  } else if (kind === 'trainjob') {
    const runtime = opts.runtime ?? DEFAULT_TRAINING_RUNTIME;
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(runtime) || runtime.length > 253) {
      throw new LauncherError(`--runtime "${runtime}" is not a ClusterTrainingRuntime name (lower-case DNS subdomain, e.g. torch-distributed)`);
    }
    objects.push(trainJob(p, meta(p.jobName, { annotations }), { name: runtime, kind: 'ClusterTrainingRuntime' }));
  } else if (kind === 'pytorchjob') {
    const replicaSpecs: PyTorchJob['spec']['pytorchReplicaSpecs'] = {
      // The operator's webhook requires Master replicas set explicitly to 1 (it runs before defaulting).
      // ExitCode: the operator restarts the group on exit codes 128-255 (signals, and the agent's 143 after a
      // pre-emption checkpoint) up to backoffLimit times; 1-127 (a genuine failure) ends the job with that code.
      Master: { replicas: 1, restartPolicy: 'ExitCode', template: podTemplate(p) },
    };
    if (p.nodes > 1) replicaSpecs.Worker = { replicas: p.nodes - 1, restartPolicy: 'ExitCode', template: podTemplate(p) };
    objects.push({
      apiVersion: 'kubeflow.org/v1',
      kind: 'PyTorchJob',
      metadata: meta(p.jobName, { annotations }),
      spec: {
        nprocPerNode: String(p.nprocPerNode),
        // Running: when the job ends (one pod failed), the operator deletes the pods still running instead of leaving them hanging.
        runPolicy: { cleanPodPolicy: 'Running', backoffLimit: maxRestarts, ttlSecondsAfterFinished: ttl },
        pytorchReplicaSpecs: replicaSpecs,
      },
    });
  } else {
    objects.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(p.jobName),
      spec: {
        clusterIP: 'None',
        // DNS records for the pods exist before they are ready, so peers can rendezvous at start-up.
        publishNotReadyAddresses: true,
        selector: { [JOB_NAME_LABEL]: p.jobName },
        ports: [{ name: INDEXED_PORT_NAME, port: p.port, targetPort: p.port, protocol: 'TCP' }],
      },
    });
    objects.push({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: meta(p.jobName, { annotations }),
      spec: {
        completionMode: 'Indexed',
        completions: p.nodes,
        parallelism: p.nodes,
        // restarts per index for failures no rule below matches (a lost node without a DisruptionTarget condition; Kubernetes >= 1.29)
        backoffLimitPerIndex: maxRestarts,
        ttlSecondsAfterFinished: ttl,
        podFailurePolicy: preemptionPodFailurePolicy(CONTAINER),
        template: podTemplate(p),
      },
    });
  }
  return { namespace, kind, jobName: p.jobName, objects };
}

/** The exact multi-document YAML of the objects (what `kubectl apply -f` would take). */
export function renderManifests(m: K8sManifests, notes: string[] = []): string {
  const head = notes.map((n) => `# ${n}\n`).join('');
  return head + m.objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join('');
}
