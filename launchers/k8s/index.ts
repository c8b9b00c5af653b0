import type { Launcher } from '../launcher.js';
import { K8sLauncher } from './k8s-launcher.js';
import { type K8sOptions, k8sOptionsFromFlags } from './options.js';

export { K8sLauncher, type K8sRequest } from './k8s-launcher.js';
export { K8S_KINDS, K8S_KIND_CHOICES, type K8sKind, type K8sOptions, k8sOptionsFromFlags } from './options.js';
export { buildManifests, renderManifests } from './manifests.js';

/**
 * The Kubernetes launcher. `options`: {@link K8sOptions} or CLI flags (`namespace`, `context`, `kubeconfig`,
 * `k8s-kind`, `image`, `s3-secret`, `pvc`, `job-name`); flags given to `dryRun` override these.
 */
export function createLauncher(options: K8sOptions | Record<string, unknown> = {}): Launcher {
  return new K8sLauncher(k8sOptionsFromFlags(options as Record<string, unknown>)) as Launcher;
}
