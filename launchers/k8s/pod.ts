import type { V1Container, V1EnvVar, V1PodTemplateSpec, V1Volume } from '@kubernetes/client-node';
import type { K8sKind } from './options.js';

/** Where the resolved config ConfigMap is mounted in every pod. */
export const CONFIG_MOUNT = '/etc/ssl-train';
/** File name of the resolved config inside the ConfigMap when the config's own name is not a valid key. */
export const CONFIG_KEY = 'config.yaml';
/** Where the work dir volume (PVC or emptyDir) is mounted. */
export const WORK_MOUNT = '/workspace';
/** Container name the PyTorchJob operator requires (and we use for both kinds). */
export const CONTAINER = 'pytorch';
/** Port name the PyTorchJob operator reads MASTER_PORT from. */
export const PYTORCHJOB_PORT_NAME = 'pytorchjob-port';
export const INDEXED_PORT_NAME = 'rendezvous';
/** Label/annotation prefix of our own keys. */
export const LABEL_PREFIX = 'ssl';
export const JOB_NAME_LABEL = `${LABEL_PREFIX}/job-name`;
export const RUN_ID_LABEL = `${LABEL_PREFIX}/run-id`;
export const KIND_LABEL = `${LABEL_PREFIX}/kind`;
export const NPROC_ANNOTATION = `${LABEL_PREFIX}/nproc-per-node`;
/** Annotation the Job controller puts on Indexed Job pods (the downward API exposes it). */
export const COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';

/** Everything a pod template depends on, already resolved (names sanitised, args split). */
export interface PodParams {
  jobName: string;
  runId: string;
  kind: K8sKind;
  image: string;
  nodes: number;
  nprocPerNode: number;
  gpusPerNode: number;
  port: number;
  /** File name of the resolved config in the ConfigMap (YAML; named after the config file, which names the experiment). */
  configFile: string;
  /** Work dir inside the pod (under {@link WORK_MOUNT}). */
  workDir: string;
  /** `--s3` / `--s3-endpoint` values, if the job uploads to S3. */
  s3Uri?: string;
  s3Endpoint?: string;
  s3Secret?: string;
  pvc?: string;
  /** Worker arguments other than --config/--work-dir/--s3/--s3-endpoint/--port, in order. */
  workerArgs: string[];
  env: V1EnvVar[];
  appDir: string;
  serviceAccount?: string;
  imagePullPolicy?: string;
  /** Seconds from SIGTERM to SIGKILL (`--termination-grace-period`). */
  terminationGracePeriod: number;
}

/** Labels on every object of one job (and its pods), to find them again. */
export function jobLabels(p: Pick<PodParams, 'jobName' | 'runId' | 'kind'>): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'ssl-train',
    'app.kubernetes.io/instance': p.jobName,
    'app.kubernetes.io/component': 'training',
    'app.kubernetes.io/managed-by': 'ssl',
    [JOB_NAME_LABEL]: p.jobName,
    [RUN_ID_LABEL]: p.runId,
    [KIND_LABEL]: p.kind,
  };
}

export const configMapName = (jobName: string): string => `${jobName}-config`;

/** The per-node agent's argv: `ssl-agent --nproc-per-node G -- <worker args>` (canonical argument order). */
export function agentArgs(p: PodParams): string[] {
  const worker = ['--config', `${CONFIG_MOUNT}/${p.configFile}`, '--work-dir', p.workDir];
  if (p.s3Uri) worker.push('--s3', p.s3Uri);
  if (p.s3Endpoint) worker.push('--s3-endpoint', p.s3Endpoint);
  worker.push('--port', String(p.port), ...p.workerArgs);
  return ['--nproc-per-node', String(p.nprocPerNode), '--', ...worker];
}

/** Environment of the Indexed Job's pods: the same static-rendezvous contract the operator gives PyTorchJob pods. */
export function indexedJobEnv(p: PodParams): V1EnvVar[] {
  const master = `${p.jobName}-0.${p.jobName}`;
  return [
    { name: 'MASTER_ADDR', value: master },
    { name: 'MASTER_PORT', value: String(p.port) },
    { name: 'PET_MASTER_ADDR', value: master },
    { name: 'PET_MASTER_PORT', value: String(p.port) },
    { name: 'PET_NNODES', value: String(p.nodes) },
    { name: 'PET_NPROC_PER_NODE', value: String(p.nprocPerNode) },
    { name: 'PET_NODE_RANK', valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${COMPLETION_INDEX_ANNOTATION}']` } } },
  ];
}

/** The pod template both kinds share: container `pytorch` running the agent, config and work dir mounted. */
export function podTemplate(p: PodParams): V1PodTemplateSpec {
  const container: V1Container = {
    name: CONTAINER,
    image: p.image,
    ...(p.imagePullPolicy ? { imagePullPolicy: p.imagePullPolicy } : {}),
    command: ['node', `${p.appDir}/bin/ssl-agent.js`],
    args: agentArgs(p),
    env: [
      ...(p.kind === 'indexed-job' ? indexedJobEnv(p) : []),
      // stable across restarts: the run id is in the manifest, not drawn by the pod
      { name: 'SSL_RUN_ID', value: p.runId },
      // the agent gives its ranks this long after SIGTERM before killing them (the kubelet's SIGKILL follows)
      { name: 'SSL_TERMINATION_GRACE_PERIOD', value: String(p.terminationGracePeriod) },
      ...(p.kind === 'pytorchjob' ? [{ name: 'SSL_PREEMPTED_EXIT_CODE', value: '143' }] : []),
      ...p.env,
    ],
    ...(p.s3Secret ? { envFrom: [{ secretRef: { name: p.s3Secret } }] } : {}),
    ports: [{ name: p.kind === 'pytorchjob' ? PYTORCHJOB_PORT_NAME : INDEXED_PORT_NAME, containerPort: p.port, protocol: 'TCP' }],
    ...(p.gpusPerNode > 0 ? { resources: { limits: { 'nvidia.com/gpu': p.gpusPerNode as unknown as string } } } : {}),
    volumeMounts: [
      { name: 'config', mountPath: CONFIG_MOUNT, readOnly: true },
      { name: 'workdir', mountPath: WORK_MOUNT },
    ],
  };
  const volumes: V1Volume[] = [
    { name: 'config', configMap: { name: configMapName(p.jobName) } },
    p.pvc ? { name: 'workdir', persistentVolumeClaim: { claimName: p.pvc } } : { name: 'workdir', emptyDir: {} },
  ];
  return {
    metadata: { labels: jobLabels(p) },
    spec: {
      ...(p.kind === 'indexed-job' ? { subdomain: p.jobName, restartPolicy: 'Never' } : {}),
      ...(p.serviceAccount ? { serviceAccountName: p.serviceAccount } : {}),
      terminationGracePeriodSeconds: p.terminationGracePeriod,
      containers: [container],
      volumes,
    },
  };
}
