import { type KubeClient, PYTORCHJOB_RESOURCE, TRAINJOB_RESOURCE, servesResource } from './client.js';
import type { K8sKind } from './options.js';

/** The kind `--k8s-kind auto` chose and why (printed above the dry run's YAML). */
export interface KindChoice {
  kind: K8sKind;
  reason: string;
}

const TRAINJOB = 'trainer.kubeflow.org/v1alpha1 TrainJob';
const PYTORCHJOB = 'kubeflow.org/v1 PyTorchJob';

/**
 * `--k8s-kind auto`: a TrainJob when the cluster serves Kubeflow Trainer v2's TrainJob, else a PyTorchJob when it
 * serves the training operator's, else the Indexed Job (plain Kubernetes). Asks the group versions' discovery
 * documents, which every authenticated user may read; listing CustomResourceDefinitions needs a cluster role most
 * users lack.
 */
export async function chooseKind(c: KubeClient): Promise<KindChoice> {
  const [trainJob, pyTorchJob] = await Promise.all([servesResource(c, TRAINJOB_RESOURCE), servesResource(c, PYTORCHJOB_RESOURCE)]);
  if (trainJob) return { kind: 'trainjob', reason: `kind trainjob: the cluster serves ${TRAINJOB} (Kubeflow Trainer v2)` };
  if (pyTorchJob) return { kind: 'pytorchjob', reason: `kind pytorchjob: the cluster serves ${PYTORCHJOB} (Kubeflow training operator), not ${TRAINJOB}` };
  return { kind: 'indexed-job', reason: `kind indexed-job: the cluster does not serve ${PYTORCHJOB} or ${TRAINJOB}` };
}
