import { LauncherError } from '../../src/errors.js';

export const K8S_KINDS = ['pytorchjob', 'indexed-job', 'trainjob'] as const;
export type K8sKind = (typeof K8S_KINDS)[number];
/** What `--k8s-kind` takes: a kind, or `auto` (the default): TrainJob, else PyTorchJob, else Indexed Job, as the cluster serves them. */
export const K8S_KIND_CHOICES = ['auto', ...K8S_KINDS] as const;

/** Settings of the Kubernetes launcher (from `ssl train`/`ssl jobs` flags or given programmatically). */
export interface K8sOptions {
  /** Namespace (default: the kubeconfig context's, else `default`). */
  namespace?: string;
  /** kubeconfig context (default: current-context). */
  context?: string;
  /** kubeconfig file (default: `KUBECONFIG`, then ~/.kube/config, then in-cluster). */
  kubeconfig?: string;
  /** Job kind; `auto` or unset: `trainjob` when the cluster serves it, else `pytorchjob` when it serves that, else `indexed-job`. */
  kind?: K8sKind | 'auto';
  /** TrainJob: the ClusterTrainingRuntime it references (`--runtime`, default torch-distributed). */
  runtime?: string;
  /** TrainJob: render a namespaced TrainingRuntime (`<job>-runtime`) with a JobSet failure policy and reference it (`--render-runtime`). */
  renderRuntime?: boolean;
  /** Container image with ssl installed (required to build a job). */
  image?: string;
  /** Secret whose keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...) become the pods' environment. Referenced, never read. */
  s3Secret?: string;
  /** PersistentVolumeClaim mounted as the work dir (default: an emptyDir; use --s3 to keep checkpoints). */
  pvc?: string;
  /** Job name given explicitly (`--job-name`): validated, not made unique. */
  jobName?: string;
  /** Restarts of the pod group after failures that are not pre-emption (`--max-restarts`, default 3). */
  maxRestarts?: number;
  /** Seconds a finished job (and its pods) is kept (default 86400). */
  ttlSecondsAfterFinished?: number;
  /** Status poll interval of `wait`/`--follow` in ms (default 5000). */
  pollIntervalMs?: number;
  /** Where ssl lives in the image (default `/opt/ssl`, see launchers/k8s/Dockerfile). */
  appDir?: string;
  serviceAccount?: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const bool = (v: unknown): boolean | undefined => (v === true ? true : undefined);
const int = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);

/**
 * Reads the launcher's options from CLI flags as `ssl train`/`ssl jobs` parse them (kebab-case:
 * `k8s-kind`, `s3-secret`, `job-name`, ...) or from {@link K8sOptions} keys (camelCase); unknown keys are ignored.
 */
export function k8sOptionsFromFlags(flags: Record<string, unknown> = {}): K8sOptions {
  const kind = str(flags['k8s-kind']) ?? str(flags.kind);
  if (kind !== undefined && !(K8S_KIND_CHOICES as readonly string[]).includes(kind)) {
    throw new LauncherError(`unknown --k8s-kind "${kind}"; use one of ${K8S_KIND_CHOICES.join(', ')}`);
  }
  const pull = str(flags['image-pull-policy']) ?? str(flags.imagePullPolicy);
  const o: K8sOptions = {
    namespace: str(flags.namespace),
    context: str(flags.context),
    kubeconfig: str(flags.kubeconfig),
    kind: kind as K8sOptions['kind'],
    image: str(flags.image),
    runtime: str(flags.runtime),
    renderRuntime: bool(flags['render-runtime']) ?? bool(flags.renderRuntime),
    s3Secret: str(flags['s3-secret']) ?? str(flags.s3Secret),
    pvc: str(flags.pvc),
    jobName: str(flags['job-name']) ?? str(flags.jobName),
    maxRestarts: int(flags['max-restarts']) ?? int(flags.maxRestarts) ?? int(flags['backoff-limit']) ?? int(flags.backoffLimit),
    ttlSecondsAfterFinished: int(flags.ttlSecondsAfterFinished),
    pollIntervalMs: int(flags.pollIntervalMs),
    appDir: str(flags.appDir),
    serviceAccount: str(flags['service-account']) ?? str(flags.serviceAccount),
    imagePullPolicy: pull as K8sOptions['imagePullPolicy'],
  };
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as K8sOptions;
}
