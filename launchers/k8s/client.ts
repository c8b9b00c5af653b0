import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { BatchV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { LauncherError } from '../../src/errors.js';
import type { K8sOptions } from './options.js';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A connection to one cluster: the typed APIs, the namespace, and error translation for every call. */
export interface KubeClient {
  kc: KubeConfig;
  core: CoreV1Api;
  batch: BatchV1Api;
  custom: CustomObjectsApi;
  namespace: string;
  /** API server URL (for messages). */
  server: string;
  /** Runs one API call; errors become LauncherErrors naming `verb` and `resource` (RBAC, unreachable, conflicts...). */
  call<T>(verb: string, resource: string, fn: () => Promise<T>): Promise<T>;
}

/** Where the kubeconfig comes from: `--kubeconfig`, `KUBECONFIG`, ~/.kube/config, or the pod's service account. */
function loadKubeConfig(kc: KubeConfig, opts: K8sOptions): string {
  const fromEnv = (process.env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  const files = opts.kubeconfig ? [opts.kubeconfig] : fromEnv;
  if (files.length > 0) {
    const missing = files.filter((f) => !existsSync(f));
    if (missing.length === files.length) {
      throw new LauncherError(`kubeconfig ${missing.join(', ')} not found (${opts.kubeconfig ? '--kubeconfig' : 'KUBECONFIG'}); point it at an existing file`, {
        code: 'K8S_NO_KUBECONFIG',
      });
    }
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
    return files.join(delimiter);
  }
  const home = join(process.env.HOME || homedir(), '.kube', 'config');
  if (existsSync(home)) {
    kc.loadFromFile(home);
    return home;
  }
  if (process.env.KUBERNETES_SERVICE_HOST && existsSync(join(SA_DIR, 'token'))) {
    kc.loadFromCluster();
    return 'in-cluster service account';
  }
  throw new LauncherError(
    'no kubeconfig: set KUBECONFIG, create ~/.kube/config (e.g. with your cloud CLI), or run inside a cluster with a service account',
    { code: 'K8S_NO_KUBECONFIG' },
  );
}

/**
 * Connects to the cluster of the kubeconfig (and `--context`); no request is made yet.
 * The namespace is `--namespace`, else the context's, else the in-cluster service account's, else `default`.
 */
export async function connect(opts: K8sOptions): Promise<KubeClient> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  let source: string;
  try {
    source = loadKubeConfig(kc, opts);
  } catch (e) {
    if (e instanceof LauncherError) throw e;
    throw new LauncherError(`cannot read the kubeconfig: ${(e as Error).message.split('\n')[0]}`, { code: 'K8S_NO_KUBECONFIG', cause: e });
  }
  if (opts.context) {
    const names = kc.getContexts().map((c) => c.name);
    if (!names.includes(opts.context)) {
      throw new LauncherError(`no context "${opts.context}" in ${source}; contexts: ${names.join(', ') || '(none)'}`, { code: 'K8S_NO_CONTEXT' });
    }
    kc.setCurrentContext(opts.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new LauncherError(`the kubeconfig (${source}) has no current context or cluster; pass --context or run kubectl config use-context`, {
      code: 'K8S_NO_KUBECONFIG',
    });
  }
  const ctx = kc.getContextObject(kc.getCurrentContext());
  const saNamespace = existsSync(join(SA_DIR, 'namespace')) && source.startsWith('in-cluster') ? readFileSync(join(SA_DIR, 'namespace'), 'utf8').trim() : undefined;
  const namespace = opts.namespace ?? ctx?.namespace ?? saNamespace ?? 'default';
  const server = cluster.server;
  const context = kc.getCurrentContext();

  const call = async <T>(verb: string, resource: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      throw translateError(e, { verb, resource, namespace, server, context });
    }
  };
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    batch: kc.makeApiClient(k8s.BatchV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    namespace,
    server,
    call,
  };
}

/** HTTP status of a client error (ApiException.code), if it is one. */
export function httpStatus(e: unknown): number | undefined {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The `message` of the API server's Status body, if any. */
export function serverMessage(e: unknown): string | undefined {
  let body = (e as { body?: unknown })?.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return (body as string) || undefined;
    }
  }
  const m = (body as { message?: unknown })?.message;
  return typeof m === 'string' ? m : undefined;
}

interface CallSite {
  verb: string;
  resource: string;
  namespace: string;
  server: string;
  context: string;
}

/** One actionable line for a failed API call. Keeps `httpStatus` available as the error's `code` suffix. */
export function translateError(e: unknown, at: CallSite): LauncherError {
  if (e instanceof LauncherError) return e;
  const status = httpStatus(e);
  const detail = serverMessage(e);
  const where = `in namespace "${at.namespace}"`;
  switch (status) {
    case 401:
      return new LauncherError(`the API server ${at.server} rejected the credentials of context "${at.context}" (401 Unauthorized); refresh them (log in again)`, {
        code: 'K8S_UNAUTHORIZED',
        cause: e,
      });
    case 403:
      if (detail && /admission webhook/i.test(detail)) {
        return new LauncherError(`the cluster's admission webhook rejected the ${at.resource}: ${detail}`, { code: 'K8S_INVALID', cause: e });
      }
      return new LauncherError(
        `forbidden: you may not ${at.verb} ${at.resource} ${where} (RBAC); ask for a Role granting "${at.verb}" on "${at.resource}"` +
          `${detail ? ` [${detail}]` : ''}`,
        { code: 'K8S_FORBIDDEN', cause: e },
      );
    case 404:
      return new LauncherError(`${at.resource} not found ${where}${detail ? `: ${detail}` : ''}`, { code: 'K8S_NOT_FOUND', cause: e });
    case 409:
      return new LauncherError(`${detail ?? `${at.resource} already exists`} ${where}; choose another --job-name or cancel the old job (ssl jobs cancel)`, {
        code: 'K8S_CONFLICT',
        cause: e,
      });
    case 422:
      return new LauncherError(`the API server rejected the ${at.resource}: ${detail ?? 'invalid'}`, { code: 'K8S_INVALID', cause: e });
    default:
      break;
  }
  if (status !== undefined) {
    return new LauncherError(`${at.verb} ${at.resource} ${where} failed with HTTP ${status}${detail ? `: ${detail}` : ''}`, { code: 'K8S_API_ERROR', cause: e });
  }
  const err = e as { code?: unknown; message?: string; cause?: { code?: unknown } };
  const sys = typeof err?.code === 'string' ? err.code : typeof err?.cause?.code === 'string' ? err.cause.code : undefined;
  const reason = sys ?? (err?.message ?? String(e)).split('\n')[0];
  return new LauncherError(
    `cannot reach the Kubernetes API server ${at.server} (context "${at.context}"): ${reason}; check the kubeconfig, --context and that the cluster is up`,
    { code: 'K8S_UNREACHABLE', cause: e },
  );
}

/** A custom resource ssl creates: its API group, version and plural. */
export interface CustomResource {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export const PYTORCHJOB_RESOURCE: CustomResource = { group: 'kubeflow.org', version: 'v1', plural: 'pytorchjobs', kind: 'PyTorchJob' };
export const TRAINJOB_RESOURCE: CustomResource = { group: 'trainer.kubeflow.org', version: 'v1alpha1', plural: 'trainjobs', kind: 'TrainJob' };
export const TRAININGRUNTIME_RESOURCE: CustomResource = { group: 'trainer.kubeflow.org', version: 'v1alpha1', plural: 'trainingruntimes', kind: 'TrainingRuntime' };

/** Whether the cluster serves a custom resource (its CRD is installed): the group version's discovery document lists it. */
export async function servesResource(c: KubeClient, r: CustomResource): Promise<boolean> {
  try {
    const list = await c.custom.getAPIResources({ group: r.group, version: r.version });
    return (list.resources ?? []).some((x) => x.name === r.plural);
  } catch (e) {
    if (httpStatus(e) === 404) return false;
    throw translateError(e, { verb: 'get', resource: `the ${r.group}/${r.version} API group`, namespace: c.namespace, server: c.server, context: c.kc.getCurrentContext() });
  }
}

/** Whether the cluster serves kubeflow.org/v1 PyTorchJob (the Kubeflow training operator's CRD is installed). */
export const servesPyTorchJob = (c: KubeClient): Promise<boolean> => servesResource(c, PYTORCHJOB_RESOURCE);
