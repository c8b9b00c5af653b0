import type { V1JobSpec, V1ObjectMeta } from '@kubernetes/client-node';
import { POD_FAILURE_POLICY_REASON, preemptionPodFailurePolicy } from './pod-failure-policy.js';
import type { PodParams } from './pod.js';
import { TRAINER_NODE } from './trainjob.js';

/** Label that marks the replicated job the Trainer puts the TrainJob's trainer into (torch_distributed.yaml's). */
export const ANCESTOR_STEP_LABEL = 'trainer.kubeflow.org/trainjob-ancestor-step';
/** Name of the JobSet failure policy rule that ends the JobSet on a genuine failure. */
export const GENUINE_FAILURE_RULE = 'genuine-failure';

/** A JobSet failure policy rule (jobset.x-k8s.io/v1alpha2 FailurePolicyRule), as we use it. */
export interface JobSetFailurePolicyRule {
  name: string;
  action: 'FailJobSet' | 'RestartJobSet' | 'RestartJobSetAndIgnoreMaxRestarts';
  onJobFailureReasons?: string[];
}

/** A namespaced Kubeflow Trainer v2 TrainingRuntime (trainer.kubeflow.org/v1alpha1) that ssl renders next to a TrainJob. */
export interface TrainingRuntime {
  apiVersion: 'trainer.kubeflow.org/v1alpha1';
  kind: 'TrainingRuntime';
  metadata: V1ObjectMeta;
  spec: {
    mlPolicy: { numNodes: number; torch: Record<string, never> };
    template: {
      spec: {
        failurePolicy: { maxRestarts: number; rules: JobSetFailurePolicyRule[] };
        replicatedJobs: {
          name: string;
          template: { metadata: { labels: Record<string, string> }; spec: V1JobSpec };
        }[];
      };
    };
  };
}

/** The TrainingRuntime `--render-runtime` creates for a job: one per job, so cancelling it removes it. */
export const renderedRuntimeName = (jobName: string): string => `${jobName}-runtime`;

/**
 * The torch-distributed ClusterTrainingRuntime's template (torch ML policy, one `node` replicated job with a `node`
 * container) plus what it lacks for pre-emptible training: a JobSet failure policy. Pre-emption never fails a Job
 * (the Job's podFailurePolicy replaces the pod uncounted); a genuine failure fails its Job with reason PodFailurePolicy,
 * which fails the JobSet at once; any other Job failure (a pod lost without an exit code or DisruptionTarget: the
 * Job's backoffLimit is 0) restarts the whole JobSet, at most `maxRestarts` times.
 */
export function trainingRuntime(p: PodParams, meta: V1ObjectMeta, maxRestarts: number): TrainingRuntime {
  return {
    apiVersion: 'trainer.kubeflow.org/v1alpha1',
    kind: 'TrainingRuntime',
    metadata: { ...meta, labels: { ...(meta.labels ?? {}), 'trainer.kubeflow.org/framework': 'torch' } },
    spec: {
      mlPolicy: { numNodes: 1, torch: {} },
      template: {
        spec: {
          failurePolicy: {
            maxRestarts,
            rules: [{ name: GENUINE_FAILURE_RULE, action: 'FailJobSet', onJobFailureReasons: [POD_FAILURE_POLICY_REASON] }],
          },
          replicatedJobs: [
            {
              name: TRAINER_NODE,
              template: {
                metadata: { labels: { [ANCESTOR_STEP_LABEL]: 'trainer' } },
                spec: {
                  backoffLimit: 0,
                  podFailurePolicy: preemptionPodFailurePolicy(TRAINER_NODE),
                  // podFailurePolicy requires Never (JobSet would default OnFailure: restarts in place, counted by the kubelet only)
                  template: { spec: { restartPolicy: 'Never', containers: [{ name: TRAINER_NODE, image: p.image }] } },
                },
              },
            },
          ],
        },
      },
    },
  };
}
