import type { V1EnvVar, V1ObjectMeta, V1ResourceRequirements, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { CONFIG_MOUNT, type PodParams, WORK_MOUNT, agentArgs, configMapName, jobLabels } from './pod.js';

/** The Kubeflow Trainer v2 runtime a TrainJob references unless `--runtime NAME` or `--render-runtime` says otherwise. */
export const DEFAULT_TRAINING_RUNTIME = 'torch-distributed';
/**
 * The torch runtime's replicated job and container that run the trainer (kubeflow/trainer
 * manifests/base/runtimes/torch_distributed.yaml); runtime patches address them by these names.
 */
export const TRAINER_NODE = 'node';
/** PET_MASTER_PORT the Trainer's torch plugin injects into every node; the worker's `--port` matches it. */
export const TRAINER_MASTER_PORT = 29400;
/** `manager` of our runtime patch (the Trainer keys patches by who owns them). */
export const RUNTIME_PATCH_MANAGER = 'ssl';
/** Keys of the `--s3-secret` Secret the pods get, each by secretKeyRef (the patchable container has no envFrom). */
export const S3_SECRET_KEYS: { key: string; optional: boolean }[] = [
  { key: 'AWS_ACCESS_KEY_ID', optional: false },
  { key: 'AWS_SECRET_ACCESS_KEY', optional: false },
  { key: 'AWS_SESSION_TOKEN', optional: true },
  { key: 'AWS_REGION', optional: true },
];

/** The runtime a TrainJob runs on: a ClusterTrainingRuntime, or the namespaced TrainingRuntime `--render-runtime` creates. */
export interface RuntimeRef {
  name: string;
  apiGroup: string;
  kind: 'ClusterTrainingRuntime' | 'TrainingRuntime';
}

/** A Kubeflow Trainer v2 TrainJob (trainer.kubeflow.org/v1alpha1), as we build it. */
export interface TrainJob {
  apiVersion: 'trainer.kubeflow.org/v1alpha1';
  kind: 'TrainJob';
  metadata: V1ObjectMeta;
  spec: {
    runtimeRef: RuntimeRef;
    trainer: {
      image: string;
      command: string[];
      args: string[];
      env: V1EnvVar[];
      numNodes: number;
      numProcPerNode: number;
      resourcesPerNode?: V1ResourceRequirements;
    };
    runtimePatches: {
      manager: string;
      trainingRuntimeSpec: {
        template: {
          spec: {
            replicatedJobs: {
              name: string;
              template: {
                spec: {
                  template: {
                    metadata: { labels: Record<string, string> };
                    spec: {
                      terminationGracePeriodSeconds: number;
                      serviceAccountName?: string;
                      containers: { name: string; volumeMounts: V1VolumeMount[] }[];
                      volumes: V1Volume[];
                    };
                  };
                };
              };
            }[];
          };
        };
      };
    }[];
  };
}

/** The trainer container's own environment: the run id and grace period (the Trainer injects the PET_* rendezvous). */
function trainerEnv(p: PodParams): V1EnvVar[] {
  const secretEnv: V1EnvVar[] = p.s3Secret
    ? S3_SECRET_KEYS.map(({ key, optional }) => ({ name: key, valueFrom: { secretKeyRef: { name: p.s3Secret!, key, optional } } }))
    : [];
  return [
    // stable across restarts: the run id is in the manifest, not drawn by the pod
    { name: 'SSL_RUN_ID', value: p.runId },
    { name: 'SSL_TERMINATION_GRACE_PERIOD', value: String(p.terminationGracePeriod) },
    ...secretEnv,
    ...p.env,
  ];
}

/**
 * A TrainJob on a runtime (default the torch-distributed ClusterTrainingRuntime): the trainer runs the same agent with the
 * same arguments as the other kinds; the config ConfigMap, work dir volume, grace period and our labels are
 * added to the runtime's `node` pods by a runtime patch.
 */
export function trainJob(p: PodParams, meta: V1ObjectMeta, runtime: Pick<RuntimeRef, 'name' | 'kind'>): TrainJob {
  return {
    apiVersion: 'trainer.kubeflow.org/v1alpha1',
    kind: 'TrainJob',
    metadata: meta,
    spec: {
      runtimeRef: { name: runtime.name, apiGroup: 'trainer.kubeflow.org', kind: runtime.kind },
      trainer: {
        image: p.image,
        command: ['node', `${p.appDir}/bin/ssl-agent.js`],
        args: agentArgs(p),
        env: trainerEnv(p),
        numNodes: p.nodes,
        numProcPerNode: p.nprocPerNode,
        ...(p.gpusPerNode > 0 ? { resourcesPerNode: { limits: { 'nvidia.com/gpu': p.gpusPerNode as unknown as string } } } : {}),
      },
      runtimePatches: [
        {
          manager: RUNTIME_PATCH_MANAGER,
          trainingRuntimeSpec: {
            template: {
              spec: {
                replicatedJobs: [
                  {
                    name: TRAINER_NODE,
                    template: {
                      spec: {
                        template: {
                          metadata: { labels: jobLabels(p) },
                          spec: {
                            terminationGracePeriodSeconds: p.terminationGracePeriod,
                            ...(p.serviceAccount ? { serviceAccountName: p.serviceAccount } : {}),
                            containers: [
                              {
                                name: TRAINER_NODE,
                                volumeMounts: [
                                  { name: 'config', mountPath: CONFIG_MOUNT, readOnly: true },
                                  { name: 'workdir', mountPath: WORK_MOUNT },
                                ],
                              },
                            ],
                            volumes: [
                              { name: 'config', configMap: { name: configMapName(p.jobName) } },
                              p.pvc ? { name: 'workdir', persistentVolumeClaim: { claimName: p.pvc } } : { name: 'workdir', emptyDir: {} },
                            ],
                          },
                        },
                      },
                    },
                  },
                ],
              },
            },
          },
        },
      ],
    },
  };
}
