import { Args, Flags } from '@oclif/core';
import type { ConfigDict } from '../config/index.js';
import { autoScaleLr } from '../config/auto-scale-lr.js';
import { jobRequestFromFlags } from '../cli/launch-flags.js';
import { SslCommand } from '../cli/ssl-command.js';
import { SslError } from '../errors.js';

const LAUNCH = 'LAUNCH';
const SLURM = 'SLURM';
const K8S = 'KUBERNETES';
const S3 = 'S3';

export default class Train extends SslCommand {
  static override description = 'Train a self-supervised model from an MMSelfSup-style config, here or on a cluster';

  static override examples = [
    '<%= config.bin %> <%= command.id %> configs/selfsup/simclr/simclr_resnet18-cifar_1xb32-20it_synthetic.yaml',
    '<%= config.bin %> <%= command.id %> CONFIG --launcher local --gpus 2',
    '<%= config.bin %> <%= command.id %> CONFIG --launcher slurm --partition gpu --nodes 2 --gpus-per-node 8',
    '<%= config.bin %> <%= command.id %> CONFIG --launcher k8s --nodes 2 --gpus-per-node 8 --image registry/ssl:latest --dry-run',
    '<%= config.bin %> <%= command.id %> CONFIG --launcher k8s --k8s-kind trainjob --nodes 2 --gpus-per-node 8 --image registry/ssl:latest --s3-secret s3-creds --dry-run',
    '<%= config.bin %> <%= command.id %> CONFIG --launcher k8s --k8s-kind trainjob --render-runtime --max-restarts 5 --nodes 2 --gpus-per-node 8 --image registry/ssl:latest --dry-run',
  ];

  static override args = {
    config: Args.string({ description: 'Config file (.yaml, .yml, .json, .py)', required: true }),
  };

  static override flags = {
    'work-dir': Flags.string({ description: 'Directory for logs, checkpoints and the resolved config (default: from the config, then work_dirs/<config path>)' }),
    'resume-from': Flags.string({ description: 'Resume training (weights, optimizer, epoch/iter) from this checkpoint (local path or s3://)' }),
    'auto-resume': Flags.boolean({
      description: 'Resume from the newest valid checkpoint in the work dir (or the --s3 prefix); when every checkpoint there is corrupt it fails, --auto-resume=fresh-ok starts from scratch instead',
      default: false,
    }),
    'auto-resume-fresh-ok': Flags.boolean({ hidden: true, default: false }),
    'load-from': Flags.string({ description: 'Initialise weights from this checkpoint; start at epoch 0' }),
    seed: Flags.integer({ description: 'Random seed (default: drawn on rank 0 and broadcast)' }),
    deterministic: Flags.boolean({ description: 'Make data order and augmentation reproducible across runs', default: false }),
    'cfg-options': Flags.string({ description: 'Override settings: key=value, dotted keys, numeric parts index lists (repeatable)', multiple: true }),
    backend: Flags.string({
      description: 'Compute backend: auto prefers tfjs-node-gpu on a GPU, then native (oneDNN), then wasm (env SSL_BACKEND)',
      options: ['auto', 'tensorflow', 'webgpu', 'native', 'wasm', 'cpu'],
      env: 'SSL_BACKEND',
    }),
    threads: Flags.integer({ description: 'Native engine compute threads per process (env SSL_THREADS; default: the cores each process may use)', min: 1, env: 'SSL_THREADS' }),
    precision: Flags.string({
      description: 'bf16: convolutions and matmuls in bfloat16 with fp32 master weights, on the native backend where the CPU has avx512_bf16/AMX (env SSL_PRECISION; an fp16 config key asks for it too)',
      options: ['fp32', 'bf16'],
      env: 'SSL_PRECISION',
    }),
    'auto-scale-lr': Flags.boolean({ description: 'Scale the learning rate by total batch / the batch the config was written for', default: false }),

    launcher: Flags.string({ description: 'Where to run: none (this process), local (N processes), slurm or k8s', options: ['none', 'local', 'slurm', 'k8s'], default: 'none', helpGroup: LAUNCH }),
    'dry-run': Flags.boolean({
      description: 'Print the exact request the launcher would submit and submit nothing (none/local: first build model, data and weights as a run would; writes nothing)',
      default: false,
      helpGroup: LAUNCH,
    }),
    wait: Flags.boolean({ description: 'Wait for the job to end and exit with its exit code', default: false, helpGroup: LAUNCH }),
    follow: Flags.boolean({ description: "Stream rank 0's log until the job ends", default: false, helpGroup: LAUNCH }),
    gpus: Flags.integer({ description: 'Local launcher: worker processes (one per GPU) on this node', aliases: ['nproc-per-node'], helpGroup: LAUNCH }),
    nnodes: Flags.integer({ description: 'Local launcher: number of machines in a manual multi-machine run (env NNODES)', helpGroup: LAUNCH }),
    'node-rank': Flags.integer({ description: 'Local launcher: this machine\'s rank in a manual multi-machine run (env NODE_RANK)', helpGroup: LAUNCH }),
    'master-addr': Flags.string({ description: 'Local launcher: address of the rank-0 machine (env MASTER_ADDR)', helpGroup: LAUNCH }),
    port: Flags.integer({ description: 'Rendezvous port (default: dist_params.port, then 29500)', helpGroup: LAUNCH }),
    'job-name': Flags.string({ description: 'Job name (default: the config file name)', helpGroup: LAUNCH }),
    nodes: Flags.integer({ description: 'Slurm/k8s: number of nodes (pods)', helpGroup: LAUNCH }),
    'gpus-per-node': Flags.integer({ description: 'Slurm/k8s: GPUs per node (0 for CPU-only; env GPUS_PER_NODE)', helpGroup: LAUNCH }),

    partition: Flags.string({ description: 'Slurm partition (env PARTITION)', helpGroup: SLURM }),
    'tasks-per-node': Flags.integer({ description: 'Slurm: processes per node (default: GPUs per node, or 1 without GPUs)', helpGroup: SLURM }),
    'cpus-per-task': Flags.integer({ description: 'Slurm: CPUs per task (env CPUS_PER_TASK)', helpGroup: SLURM }),
    time: Flags.string({ description: 'Slurm: time limit, e.g. 2-00:00:00', helpGroup: SLURM }),
    account: Flags.string({ description: 'Slurm: account to charge', helpGroup: SLURM }),
    qos: Flags.string({ description: 'Slurm: quality of service', helpGroup: SLURM }),
    'srun-args': Flags.string({ description: 'Slurm: extra srun arguments (env SRUN_ARGS)', helpGroup: SLURM }),
    'sbatch-args': Flags.string({ description: 'Slurm: extra sbatch arguments', helpGroup: SLURM }),
    'termination-grace-period': Flags.integer({
      description:
        'Seconds from SIGTERM (pre-emption, eviction, cancel) to SIGKILL: the ranks finish the iteration, write one checkpoint (uploaded with --s3) and exit 75; local launcher and Kubernetes (terminationGracePeriodSeconds)',
      default: 120,
      min: 1,
      helpGroup: LAUNCH,
    }),
    requeue: Flags.boolean({ description: 'Slurm: on pre-emption (SIGUSR1/SIGTERM) checkpoint, requeue and auto-resume', default: false, helpGroup: SLURM }),

    image: Flags.string({ description: 'Kubernetes: container image with ssl installed', helpGroup: K8S }),
    'k8s-kind': Flags.string({
      description:
        'Kubernetes: job kind; auto (default): trainjob (Kubeflow Trainer v2) when the cluster serves it, else pytorchjob (training operator) when it does, else indexed-job; --dry-run says which and why',
      options: ['auto', 'pytorchjob', 'indexed-job', 'trainjob'],
      helpGroup: K8S,
    }),
    runtime: Flags.string({ description: 'Kubernetes: ClusterTrainingRuntime a TrainJob references (default torch-distributed)', helpGroup: K8S }),
    'render-runtime': Flags.boolean({
      description:
        'Kubernetes: with --k8s-kind trainjob, create a TrainingRuntime (<job>-runtime: the torch-distributed template plus a JobSet failure policy: --max-restarts, pre-emption uncounted, a genuine failure ends the job) and run the TrainJob on it instead of --runtime',
      helpGroup: K8S,
    }),
    namespace: Flags.string({ description: 'Kubernetes: namespace (default: the kubeconfig context\'s)', helpGroup: K8S }),
    context: Flags.string({ description: 'Kubernetes: kubeconfig context', helpGroup: K8S }),
    's3-secret': Flags.string({ description: 'Kubernetes: Secret holding S3 credentials (referenced, never copied)', helpGroup: K8S }),
    'max-restarts': Flags.integer({
      description:
        'Kubernetes: restarts of the pod group after failures that are not pre-emption (PyTorchJob backoffLimit, Indexed Job backoffLimitPerIndex, TrainJob --render-runtime JobSet maxRestarts); pre-emption restarts are not counted',
      default: 3,
      min: 0,
      helpGroup: K8S,
    }),
    pvc: Flags.string({ description: 'Kubernetes: PersistentVolumeClaim to mount as the work dir', helpGroup: K8S }),

    s3: Flags.string({ description: 'Upload checkpoints and logs to s3://bucket/prefix', helpGroup: S3 }),
    's3-endpoint': Flags.string({ description: 'S3 endpoint for MinIO/Ceph, path-style (env AWS_ENDPOINT_URL_S3)', env: 'AWS_ENDPOINT_URL_S3', helpGroup: S3 }),
  };

  async run(): Promise<void> {
    this.argv = normalizeAutoResume(this.argv);
    const { args, flags } = await this.parse(Train);
    const { prepareTrainJob, writeResolvedConfig } = await import('../../launchers/train-job.js');
    const worldSize = (flags.nodes ?? flags.nnodes ?? 1) * (flags['tasks-per-node'] ?? flags.gpus ?? (flags['gpus-per-node'] || 1));
    const transform = flags['auto-scale-lr']
      ? (cfg: ConfigDict) => {
          const scaled = autoScaleLr(cfg, args.config, worldSize);
          this.logToStderr(`--auto-scale-lr: lr ${scaled.from} -> ${scaled.to} (x${scaled.factor}, world size ${worldSize})`);
          return scaled.cfg;
        }
      : undefined;
    // --dry-run here and with the local launcher builds what a real run builds (and writes nothing)
    const buildCheck = flags['dry-run'] && (flags.launcher === 'none' || flags.launcher === 'local');
    const prepared = prepareTrainJob({
      config: args.config,
      ...jobRequestFromFlags(flags),
      autoResume: flags['auto-resume'],
      autoResumeFreshOk: flags['auto-resume-fresh-ok'],
      // SIGTERM is pre-emption here (Kubernetes eviction, a container stop, the local job's own SIGTERM); Slurm's script adds it with --requeue
      checkpointOnSignal: flags.launcher !== 'slurm',
      terminationGracePeriod: flags['termination-grace-period'],
      loadFrom: flags['load-from'],
      transform,
      write: false,
    });
    // the checkpoints a run here would read are checked before anything is written
    if (flags.launcher === 'none' || flags.launcher === 'local') {
      const { preflightResume } = await import('../runner/resume-preflight.js');
      await preflightResume({
        resumeFrom: flags['resume-from'], loadFrom: flags['load-from'], autoResume: flags['auto-resume'], autoResumeFreshOk: flags['auto-resume-fresh-ok'],
        workDir: prepared.job.workDir, s3: flags.s3, s3Endpoint: flags['s3-endpoint'], cfg: prepared.cfg,
      });
    }
    const undoConfig = buildCheck ? () => {} : writeResolvedConfig(prepared);
    if (buildCheck) {
      const { dryRunTraining } = await import('../runner/dry-run.js');
      const { parseWorkerArgs } = await import('../runner/worker-args.js');
      await dryRunTraining({ cfg: prepared.cfg, sourceOf: prepared.sourceOf, args: parseWorkerArgs(prepared.workerArgv) });
    }
    let code: number;
    if (flags.launcher === 'none') {
      if (flags['dry-run']) {
        this.log(`# ssl train --launcher none: would run in this process\nssl-worker ${prepared.workerArgv.join(' ')}`);
        return;
      }
      const { runWorker } = await import('../runner/worker-main.js');
      code = await runWorker(prepared.workerArgv);
    } else {
      const { submitTraining } = await import('../../launchers/run-training.js');
      code = await submitTraining(prepared, flags);
    }
    // a run that failed on its inputs leaves the work dir as it found it
    if (code === 2) undoConfig();
    if (code !== 0) this.exit(code);
  }
}

/** `--auto-resume=fresh-ok` -> `--auto-resume --auto-resume-fresh-ok` (oclif booleans take no value). */
function normalizeAutoResume(argv: string[]): string[] {
  return argv.flatMap((a) => {
    if (!a.startsWith('--auto-resume=')) return [a];
    const v = a.slice('--auto-resume='.length);
    if (v === 'fresh-ok') return ['--auto-resume', '--auto-resume-fresh-ok'];
    throw new SslError(`--auto-resume takes no value, or =fresh-ok (start from scratch when every checkpoint found is corrupt); got "${v}"`);
  });
}
