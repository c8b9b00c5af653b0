import type { V1PodFailurePolicy } from '@kubernetes/client-node';

/** The workers' exit code after a pre-emption checkpoint (the Slurm path's too). */
export const PREEMPTED_EXIT_CODE = 75;
/** The reason the Job controller gives a Job that a podFailurePolicy FailJob rule failed (what a JobSet failure policy rule matches on). */
export const POD_FAILURE_POLICY_REASON = 'PodFailurePolicy';

/**
 * The Job pod failure policy of the Indexed Job and of the Job template of ssl's TrainingRuntime: pre-emption
 * (exit 75 after the checkpoint, or a pod the cluster disrupted) replaces the pod without counting it; any other
 * non-zero exit of `container` is a genuine failure and fails the Job at once (reason PodFailurePolicy).
 * Requires the pod template's restartPolicy Never.
 */
export function preemptionPodFailurePolicy(container: string): V1PodFailurePolicy {
  return {
    rules: [
      // the workers checkpointed on SIGTERM (exit 75) or the pod was disrupted (eviction, pre-emption, node drain): replace it, uncounted
      { action: 'Ignore', onExitCodes: { containerName: container, operator: 'In', values: [PREEMPTED_EXIT_CODE] } },
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      // any other exit code is a genuine failure (or a pod killed past its grace period): the job ends with it instead of peers hanging
      { action: 'FailJob', onExitCodes: { containerName: container, operator: 'NotIn', values: [0, PREEMPTED_EXIT_CODE] } },
    ],
  };
}
