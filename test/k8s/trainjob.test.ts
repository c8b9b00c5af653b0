/**
 * `--k8s-kind trainjob`: a Kubeflow Trainer v2 TrainJob on the torch-distributed ClusterTrainingRuntime (or, with
 * --render-runtime, on a TrainingRuntime ssl renders), validated against the real TrainJob and runtime CRDs
 * (../shared/data/kubeflow-trainer/) as the PyTorchJob is against its CRD.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { createLauncher } from '../../launchers/k8s/index.js';
import { ROOT, tinyConfig } from './helpers/e2e.js';
import { sampleJob } from './helpers/job.js';
import { TRAINER_RUNTIME_PATH, validateManifest } from './helpers/schemas.js';

type Obj = Record<string, any>;
const dir = mkdtempSync(join(tmpdir(), 'k8s-trainjob-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function render(over: Obj = {}, flags: Obj = {}): Promise<{ text: string; docs: Obj[] }> {
  const launcher = createLauncher({ image: 'registry.example/ssl:1.0', namespace: 'ml', 'k8s-kind': 'trainjob', ...flags });
  const text = (await launcher.dryRun(sampleJob(dir, over), {})).render();
  return { text, docs: parseAllDocuments(text).map((d) => d.toJS()).filter(Boolean) };
}

const trainer = (docs: Obj[]) => docs.find((d) => d.kind === 'TrainJob')!;
const nodePod = (tj: Obj) => tj.spec.runtimePatches[0].trainingRuntimeSpec.template.spec.replicatedJobs[0].template.spec.template;

test.each([1, 2, 4])('TrainJob for %i node(s) validates against the TrainJob CRD (ConfigMap against Kubernetes)', async (nodes) => {
  const { docs } = await render({ nodes }, { 's3-secret': 's3-creds', pvc: 'train-pvc', 'service-account': 'trainer' });
  expect(docs.map((d) => d.kind)).toEqual(['ConfigMap', 'TrainJob']);
  for (const d of docs) expect(() => validateManifest(d)).not.toThrow();
  expect(trainer(docs).spec.trainer.numNodes).toBe(nodes);
});

test('TrainJob: torch-distributed by default or --runtime, numNodes, per-node GPUs, the agent with the same args, the Trainer port', async () => {
  const { text, docs } = await render({ nodes: 3, gpusPerNode: 8 });
  const tj = trainer(docs);
  expect(tj.apiVersion).toBe('trainer.kubeflow.org/v1alpha1');
  expect(tj.spec.runtimeRef).toEqual({ name: 'torch-distributed', apiGroup: 'trainer.kubeflow.org', kind: 'ClusterTrainingRuntime' });
  const t = tj.spec.trainer;
  expect(t).toMatchObject({ image: 'registry.example/ssl:1.0', numNodes: 3, numProcPerNode: 8, resourcesPerNode: { limits: { 'nvidia.com/gpu': 8 } } });
  expect(t.command).toEqual(['node', '/opt/ssl/bin/ssl-agent.js']);
  expect(t.args.slice(0, 3)).toEqual(['--nproc-per-node', '8', '--']);
  expect(t.args).toEqual(expect.arrayContaining(['--config', '/etc/ssl-train/simclr_tiny.yaml', '--work-dir', '/workspace/simclr_tiny', '--seed', '0']));
  // the Trainer injects PET_MASTER_PORT=29400; the worker's --port says the same, and the YAML says why
  expect(t.args.slice(t.args.indexOf('--port'), t.args.indexOf('--port') + 2)).toEqual(['--port', '29400']);
  expect(text).toMatch(/^# rendezvous port 29400 \(the Trainer's PET_MASTER_PORT\), not --port 29500$/m);
  // every (re)start resumes, SIGTERM checkpoints, the run id is the manifest's
  expect(t.args.slice(-2)).toEqual(['--checkpoint-on-signal', '--auto-resume']);
  const env = Object.fromEntries((t.env as Obj[]).map((e) => [e.name, e.value]));
  expect(env).toMatchObject({ SSL_RUN_ID: 'mabc12-7f3e9a', SSL_TERMINATION_GRACE_PERIOD: '120' });
  // the rendezvous variables are the Trainer's (its webhook rejects PET_* in trainer.env)
  expect((t.env as Obj[]).map((e) => e.name).filter((n) => /^(PET_|MASTER_)/.test(n))).toEqual([]);
  const pod = nodePod(tj);
  expect(pod.metadata.labels).toMatchObject({ 'ssl/run-id': 'mabc12-7f3e9a', 'ssl/job-name': tj.metadata.name, 'ssl/kind': 'trainjob' });
  expect(pod.spec.terminationGracePeriodSeconds).toBe(120);
  expect(pod.spec.containers).toEqual([
    { name: 'node', volumeMounts: [{ name: 'config', mountPath: '/etc/ssl-train', readOnly: true }, { name: 'workdir', mountPath: '/workspace' }] },
  ]);
  expect(pod.spec.volumes).toEqual([{ name: 'config', configMap: { name: `${tj.metadata.name}-config` } }, { name: 'workdir', emptyDir: {} }]);
  const cm = docs.find((d) => d.kind === 'ConfigMap')!;
  expect(parse(cm.data['simclr_tiny.yaml']).work_dir).toBe('/workspace/simclr_tiny');

  const cpu = trainer((await render({ nodes: 1, gpusPerNode: 0, procsPerNode: 2 }, { runtime: 'ssl-cpu' })).docs);
  expect(cpu.spec.runtimeRef.name).toBe('ssl-cpu');
  expect(cpu.spec.trainer.resourcesPerNode).toBeUndefined();
  expect(cpu.spec.trainer.numProcPerNode).toBe(2);
  await expect(render({}, { runtime: 'Torch_Distributed' })).rejects.toThrow(/--runtime "Torch_Distributed" is not a ClusterTrainingRuntime name/);
});

test('TrainJob: S3 credentials only by secretKeyRef; no secret value anywhere in the rendered objects', async () => {
  const sentinel = 'wJalrXUtnFEMI-K7MDENG-trainjob-sentinel';
  process.env.AWS_SECRET_ACCESS_KEY = sentinel;
  try {
    const { text, docs } = await render({ workerArgs: ['--s3', 's3://bucket/runs', '--s3-endpoint', 'http://minio:9000', '--port', '29500'] }, { 's3-secret': 's3-creds', pvc: 'train-pvc' });
    expect(text).not.toContain(sentinel);
    const t = trainer(docs).spec.trainer;
    const secretEnv = (t.env as Obj[]).filter((e) => e.valueFrom?.secretKeyRef);
    expect(secretEnv.map((e) => e.name)).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION']);
    for (const e of secretEnv) expect(e.valueFrom.secretKeyRef).toMatchObject({ name: 's3-creds', key: e.name });
    expect((t.env as Obj[]).filter((e) => /SECRET|TOKEN|ACCESS_KEY/.test(e.name)).every((e) => e.value === undefined)).toBe(true);
    expect(t.args).toEqual(expect.arrayContaining(['--s3', 's3://bucket/runs', '--s3-endpoint', 'http://minio:9000']));
    expect(nodePod(trainer(docs)).spec.volumes).toContainEqual({ name: 'workdir', persistentVolumeClaim: { claimName: 'train-pvc' } });
  } finally {
    delete process.env.AWS_SECRET_ACCESS_KEY;
  }
  await expect(render({ env: { AWS_SECRET_ACCESS_KEY: 'x' } })).rejects.toThrow(/--s3-secret/);
});

test('the TrainJob validator rejects what the API server would', async () => {
  const tj = trainer((await render()).docs);
  const bad = (f: (o: Obj) => void) => {
    const o = structuredClone(tj);
    f(o);
    return () => validateManifest(o);
  };
  expect(bad(() => undefined)).not.toThrow();
  expect(bad((o) => (o.spec.trainer.numNodes = '2'))).toThrow(/CRD schema/);
  expect(bad((o) => (o.spec.trainer.numNode = 2))).toThrow(/spec.trainer.numNode/);
  expect(bad((o) => delete o.spec.runtimeRef)).toThrow(/CRD schema/);
  expect(bad((o) => (o.metadata.name = '1job'))).toThrow(/RFC 1035/);
  expect(bad((o) => (o.metadata.name = 'a'.repeat(64)))).toThrow(/63 characters/);
  expect(bad((o) => (nodePod(o).spec.containers[0].name = 'trainer'))).toThrow(/container trainer; node has node/);
  expect(bad((o) => (o.spec.runtimePatches[0].trainingRuntimeSpec.template.spec.replicatedJobs[0].name = 'trainer'))).toThrow(/replicated job trainer/);
});

test('ssl train --k8s-kind trainjob --dry-run prints it without a cluster; submitting without one is one line, exit 2', async () => {
  const ssl = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(KUBECONFIG|KUBERNETES_SERVICE_HOST)$/.test(k)));
      execFile(process.execPath, [join(ROOT, 'bin/run.js'), ...args], { cwd: ROOT, env: { ...env, HOME: join(dir, 'home'), KUBECONFIG: join(dir, 'none') } }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  const config = tinyConfig() ?? join(ROOT, 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml');
  const base = ['train', config, '--launcher', 'k8s', '--k8s-kind', 'trainjob', '--nodes', '2', '--gpus-per-node', '4', '--image', 'reg/ssl:1', '--namespace', 'ml', '--work-dir', join(dir, 'wd')];
  const dry = await ssl([...base, '--dry-run', '--runtime', 'torch-distributed']);
  expect(dry.code).toBe(0);
  const docs = parseAllDocuments(dry.stdout).map((d) => d.toJS()).filter(Boolean);
  expect(docs.map((d) => d.kind)).toEqual(['ConfigMap', 'TrainJob']);
  for (const d of docs) validateManifest(d);
  expect(trainer(docs).spec.trainer).toMatchObject({ numNodes: 2, numProcPerNode: 4 });
  const sub = await ssl(base);
  expect(sub.code).toBe(2);
  expect(sub.stderr.trim().split('\n')).toHaveLength(1);
  expect(sub.stderr).toMatch(/kubeconfig \S+ not found \(KUBECONFIG\); point it at an existing file/);
});

describe('--render-runtime: a TrainingRuntime with a JobSet failure policy, rendered next to the TrainJob', () => {
  const runtimeOf = (docs: Obj[]) => docs.find((d) => d.kind === 'TrainingRuntime')!;

  test.each([1, 2, 4])('%i node(s): ConfigMap, TrainingRuntime, TrainJob, each valid against its CRD (the runtime against the TrainingRuntime schema)', async (nodes) => {
    const { docs } = await render({ nodes }, { 'render-runtime': true, 's3-secret': 's3-creds', pvc: 'train-pvc' });
    expect(docs.map((d) => d.kind)).toEqual(['ConfigMap', 'TrainingRuntime', 'TrainJob']);
    for (const d of docs) expect(() => validateManifest(d)).not.toThrow();
    const tj = trainer(docs);
    expect(tj.spec.runtimeRef).toEqual({ name: `${tj.metadata.name}-runtime`, apiGroup: 'trainer.kubeflow.org', kind: 'TrainingRuntime' });
    expect(runtimeOf(docs).metadata).toMatchObject({ name: `${tj.metadata.name}-runtime`, namespace: 'ml', labels: { 'ssl/job-name': tj.metadata.name } });
    expect(tj.spec.trainer.numNodes).toBe(nodes);
  });

  test("torch-distributed's template, the Indexed Job's podFailurePolicy, and a failure policy: --max-restarts, FailJobSet on PodFailurePolicy", async () => {
    const { text, docs } = await render({ nodes: 2 }, { 'render-runtime': true, 'max-restarts': 5 });
    const rt = runtimeOf(docs);
    const torch = parse(readFileSync(TRAINER_RUNTIME_PATH, 'utf8'));
    // the torch ML policy and the replicated job / container names the Trainer and our runtime patch address
    expect(rt.spec.mlPolicy).toEqual(torch.spec.mlPolicy);
    const [node] = rt.spec.template.spec.replicatedJobs;
    const [torchNode] = torch.spec.template.spec.replicatedJobs;
    expect(node.name).toBe(torchNode.name);
    expect(node.template.metadata).toEqual(torchNode.template.metadata);
    expect(node.template.spec.template.spec.containers.map((c: Obj) => c.name)).toEqual(torchNode.template.spec.template.spec.containers.map((c: Obj) => c.name));
    const patch = trainer(docs).spec.runtimePatches[0].trainingRuntimeSpec.template.spec.replicatedJobs[0];
    expect(patch.name).toBe(node.name);
    expect(nodePod(trainer(docs)).spec.containers[0].name).toBe(node.template.spec.template.spec.containers[0].name);
    // pre-emption is ignored and a genuine failure fails the Job, exactly as in the Indexed Job (for the container `node`)
    const indexed = (await render({ nodes: 2 }, { 'k8s-kind': 'indexed-job' })).docs.find((d) => d.kind === 'Job')!;
    const forNode = JSON.parse(JSON.stringify(indexed.spec.podFailurePolicy).replaceAll('"containerName":"pytorch"', '"containerName":"node"'));
    expect(node.template.spec.podFailurePolicy).toEqual(forNode);
    expect(node.template.spec.podFailurePolicy.rules.map((r: Obj) => r.action)).toEqual(['Ignore', 'Ignore', 'FailJob']);
    expect(node.template.spec).toMatchObject({ backoffLimit: 0, template: { spec: { restartPolicy: 'Never' } } });
    expect(rt.spec.template.spec.failurePolicy).toEqual({
      maxRestarts: 5,
      rules: [{ name: 'genuine-failure', action: 'FailJobSet', onJobFailureReasons: ['PodFailurePolicy'] }],
    });
    expect((await render({}, { 'render-runtime': true })).docs.find((d) => d.kind === 'TrainingRuntime')!.spec.template.spec.failurePolicy.maxRestarts).toBe(3);
    expect(text).toMatch(/^# TrainJob on TrainingRuntime \S+-runtime \(rendered by ssl, created or replaced before the TrainJob\): its JobSet failurePolicy restarts the pods at most 5 times/m);
    expect(text).not.toMatch(/--max-restarts does not apply/);
  });

  test('the runtime validator rejects what the API server would', async () => {
    const rt = runtimeOf((await render({}, { 'render-runtime': true })).docs);
    const bad = (f: (o: Obj) => void) => {
      const o = structuredClone(rt);
      f(o);
      return () => validateManifest(o);
    };
    const fp = (o: Obj) => o.spec.template.spec.failurePolicy;
    const job = (o: Obj) => o.spec.template.spec.replicatedJobs[0].template.spec;
    expect(bad(() => undefined)).not.toThrow();
    expect(bad((o) => delete fp(o).rules[0].name)).toThrow(/CRD schema.*name/);
    expect(bad((o) => (fp(o).rules[0].action = 'FailJob'))).toThrow(/CRD schema/);
    expect(bad((o) => (fp(o).maxRestart = 3))).toThrow(/fields the CRD does not declare: spec.template.spec.failurePolicy.maxRestart/);
    expect(bad((o) => (job(o).template.spec.restartPolicy = 'OnFailure'))).toThrow(/podFailurePolicy.*"Never"/);
    expect(bad((o) => (job(o).podFailurePolicy.rules[0].onExitCode = {}))).toThrow(/spec.template.spec.replicatedJobs\[0\].template.spec.podFailurePolicy.rules\[0\].onExitCode/);
  });

  test('--render-runtime is for TrainJobs, and not with --runtime', async () => {
    await expect(render({}, { 'render-runtime': true, runtime: 'torch-distributed' })).rejects.toThrow(/--runtime names an existing ClusterTrainingRuntime and --render-runtime .*; pass one of them/);
    await expect(render({}, { 'render-runtime': true, 'k8s-kind': 'pytorchjob' })).rejects.toThrow(/--render-runtime renders a TrainingRuntime for a TrainJob; this job is a pytorchjob/);
  });

  test('ssl train --render-runtime --dry-run prints the runtime before the TrainJob', async () => {
    const config = tinyConfig() ?? join(ROOT, 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(KUBECONFIG|KUBERNETES_SERVICE_HOST)$/.test(k)));
    const args = ['train', config, '--launcher', 'k8s', '--k8s-kind', 'trainjob', '--render-runtime', '--max-restarts', '2', '--nodes', '2', '--image', 'reg/ssl:1', '--namespace', 'ml', '--work-dir', join(dir, 'wd2'), '--dry-run'];
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, [join(ROOT, 'bin/run.js'), ...args], { cwd: ROOT, env: { ...env, HOME: join(dir, 'home'), KUBECONFIG: join(dir, 'none') } }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      ),
    );
    expect({ code: out.code, stderr: out.code === 0 ? '' : out.stderr }).toEqual({ code: 0, stderr: '' });
    const docs = parseAllDocuments(out.stdout).map((d) => d.toJS()).filter(Boolean);
    expect(docs.map((d) => d.kind)).toEqual(['ConfigMap', 'TrainingRuntime', 'TrainJob']);
    for (const d of docs) validateManifest(d);
    expect(runtimeOf(docs).spec.template.spec.failurePolicy.maxRestarts).toBe(2);
    expect(trainer(docs).spec.runtimeRef).toMatchObject({ kind: 'TrainingRuntime', name: runtimeOf(docs).metadata.name });
  });
});
