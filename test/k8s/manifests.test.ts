import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { createLauncher } from '../../launchers/k8s/index.js';
import { sampleJob } from './helpers/job.js';
import { unknownFields, validateManifest } from './helpers/schemas.js';

type Obj = Record<string, any>;
const dir = mkdtempSync(join(tmpdir(), 'k8s-manifests-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function render(kind: string, over: Obj = {}, flags: Obj = {}): Promise<{ text: string; docs: Obj[] }> {
  const launcher = createLauncher({ image: 'registry.example/ssl:1.0', namespace: 'ml', 'k8s-kind': kind, ...flags });
  const dry = await launcher.dryRun(sampleJob(dir, over), {});
  const text = dry.render();
  return { text, docs: parseAllDocuments(text).map((d) => d.toJS()).filter(Boolean) };
}

const byKind = (docs: Obj[], kind: string) => docs.find((d) => d.kind === kind)!;

describe.each([1, 2, 4])('manifests for %i node(s)', (nodes) => {
  test.each(['pytorchjob', 'indexed-job'])('%s validates against the Kubernetes schemas (and the CRD)', async (kind) => {
    const { docs } = await render(kind, { nodes }, { 's3-secret': 's3-creds', pvc: 'train-pvc' });
    expect(docs.map((d) => d.kind)).toEqual(kind === 'pytorchjob' ? ['ConfigMap', 'PyTorchJob'] : ['ConfigMap', 'Service', 'Job']);
    for (const d of docs) expect(() => validateManifest(d)).not.toThrow();
  });
});

test('PyTorchJob: Master explicitly 1, Worker nodes-1, container pytorch with pytorchjob-port, GPUs, run policy, nprocPerNode string', async () => {
  const { docs } = await render('pytorchjob', { nodes: 3, gpusPerNode: 8, port: 29511, workerArgs: ['--port', '29511'] });
  const job = byKind(docs, 'PyTorchJob');
  expect(job.apiVersion).toBe('kubeflow.org/v1');
  expect(Object.keys(job.spec.pytorchReplicaSpecs)).toEqual(['Master', 'Worker']);
  expect(job.spec.pytorchReplicaSpecs.Master.replicas).toBe(1);
  expect(job.spec.pytorchReplicaSpecs.Worker.replicas).toBe(2);
  expect(job.spec.nprocPerNode).toBe('8');
  // --max-restarts (default 3); ExitCode: 128-255 (the agent's 143 after a pre-emption checkpoint) restart the group, 1-127 end the job
  expect(job.spec.runPolicy).toEqual({ cleanPodPolicy: 'Running', backoffLimit: 3, ttlSecondsAfterFinished: 86400 });
  for (const rtype of ['Master', 'Worker']) {
    expect(job.spec.pytorchReplicaSpecs[rtype].restartPolicy).toBe('ExitCode');
    expect(job.spec.pytorchReplicaSpecs[rtype].template.spec.terminationGracePeriodSeconds).toBe(120);
    const c = job.spec.pytorchReplicaSpecs[rtype].template.spec.containers[0];
    // every (re)start resumes from the newest checkpoint; SIGTERM checkpoints; the run id is the manifest's
    expect(c.args.slice(-2)).toEqual(['--checkpoint-on-signal', '--auto-resume']);
    const env = Object.fromEntries((c.env as Obj[]).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ SSL_TERMINATION_GRACE_PERIOD: '120', SSL_PREEMPTED_EXIT_CODE: '143' });
    expect(env.SSL_RUN_ID).toBe(job.metadata.labels['ssl/run-id']);
    expect(c.name).toBe('pytorch');
    expect(c.ports).toEqual([{ name: 'pytorchjob-port', containerPort: 29511, protocol: 'TCP' }]);
    expect(c.resources.limits['nvidia.com/gpu']).toBe(8);
    expect(c.command).toEqual(['node', '/opt/ssl/bin/ssl-agent.js']);
    expect(c.args.slice(0, 3)).toEqual(['--nproc-per-node', '8', '--']);
    expect(c.args).toEqual(expect.arrayContaining(['--config', '/etc/ssl-train/simclr_tiny.yaml', '--work-dir', '/workspace/simclr_tiny']));
    // the operator injects the rendezvous variables; we must not fight it
    expect((c.env as Obj[]).map((e) => e.name)).not.toContain('MASTER_ADDR');
  }
  const single = byKind((await render('pytorchjob', { nodes: 1 })).docs, 'PyTorchJob');
  expect(Object.keys(single.spec.pytorchReplicaSpecs)).toEqual(['Master']);
});

test('Indexed Job: completions = parallelism = nodes, headless Service, subdomain, MASTER_ADDR, node rank from the index, podFailurePolicy', async () => {
  const { docs } = await render('indexed-job', { nodes: 3, gpusPerNode: 0, procsPerNode: 2 });
  const job = byKind(docs, 'Job');
  const svc = byKind(docs, 'Service');
  const name = job.metadata.name;
  expect(job.spec).toMatchObject({ completionMode: 'Indexed', completions: 3, parallelism: 3, backoffLimitPerIndex: 3 });
  expect(job.spec.backoffLimit).toBeUndefined();
  // pre-emption (exit 75 after the checkpoint, or a DisruptionTarget condition) is not counted; a genuine failure ends the job
  expect(job.spec.podFailurePolicy.rules).toEqual([
    { action: 'Ignore', onExitCodes: { containerName: 'pytorch', operator: 'In', values: [75] } },
    { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
    { action: 'FailJob', onExitCodes: { containerName: 'pytorch', operator: 'NotIn', values: [0, 75] } },
  ]);
  expect(job.spec.template.spec.terminationGracePeriodSeconds).toBe(120);
  expect(job.spec.template.spec.containers[0].args.slice(-2)).toEqual(['--checkpoint-on-signal', '--auto-resume']);
  expect(job.spec.template.spec.restartPolicy).toBe('Never');
  expect(job.spec.template.spec.subdomain).toBe(svc.metadata.name);
  expect(svc.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true, selector: { 'ssl/job-name': name } });
  expect(job.spec.template.metadata.labels['ssl/job-name']).toBe(name);
  const c = job.spec.template.spec.containers[0];
  expect(c.resources).toBeUndefined();
  expect(c.args.slice(0, 2)).toEqual(['--nproc-per-node', '2']);
  const env = Object.fromEntries((c.env as Obj[]).map((e) => [e.name, e.value ?? e.valueFrom]));
  expect(env.MASTER_ADDR).toBe(`${name}-0.${svc.metadata.name}`);
  expect(env.PET_NNODES).toBe('3');
  expect(env.PET_NPROC_PER_NODE).toBe('2');
  expect(env.PET_NODE_RANK).toEqual({ fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } });
});

test('every object carries the run id, job name and app.kubernetes.io labels; the config travels as a mounted ConfigMap', async () => {
  for (const kind of ['pytorchjob', 'indexed-job']) {
    const { docs } = await render(kind);
    const name = docs[docs.length - 1].metadata.name;
    for (const d of docs) {
      expect(d.metadata.namespace).toBe('ml');
      expect(d.metadata.labels).toMatchObject({ 'ssl/run-id': 'mabc12-7f3e9a', 'ssl/job-name': name, 'app.kubernetes.io/name': 'ssl-train', 'app.kubernetes.io/instance': name });
    }
    const cm = byKind(docs, 'ConfigMap');
    expect(Object.keys(cm.data)).toEqual(['simclr_tiny.yaml']);
    const cfg = parse(cm.data['simclr_tiny.yaml']);
    expect(cfg.model.backbone).toEqual({ type: 'ResNet', depth: 18 });
    expect(cfg.work_dir).toBe('/workspace/simclr_tiny');
  }
});

test('S3 credentials only by Secret reference; no secret value in the manifests; work dir on the PVC', async () => {
  const sentinel = 'wJalrXUtnFEMI-K7MDENG-sentinel';
  process.env.AWS_SECRET_ACCESS_KEY = sentinel;
  try {
    const { text, docs } = await render('pytorchjob', { workerArgs: ['--s3', 's3://bucket/runs', '--s3-endpoint', 'http://minio:9000', '--port', '29500'] }, { 's3-secret': 's3-creds', pvc: 'train-pvc' });
    expect(text).not.toContain(sentinel);
    const tpl = byKind(docs, 'PyTorchJob').spec.pytorchReplicaSpecs.Master.template.spec;
    expect(tpl.containers[0].envFrom).toEqual([{ secretRef: { name: 's3-creds' } }]);
    expect(tpl.containers[0].args).toEqual(expect.arrayContaining(['--s3', 's3://bucket/runs', '--s3-endpoint', 'http://minio:9000']));
    expect(tpl.volumes).toContainEqual({ name: 'workdir', persistentVolumeClaim: { claimName: 'train-pvc' } });
    const indexed = await render('indexed-job', { workerArgs: ['--s3', 's3://bucket/runs', '--port', '29500'] }, { 's3-secret': 's3-creds' });
    expect(indexed.text).not.toContain(sentinel);
  } finally {
    delete process.env.AWS_SECRET_ACCESS_KEY;
  }
  await expect(render('indexed-job', { env: { AWS_SECRET_ACCESS_KEY: 'x' } })).rejects.toThrow(/--s3-secret/);
});

test('the validators reject what the API server or the operator would', () => {
  const base = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'x' }, spec: { completionsMode: 'Indexed', template: { spec: { containers: [{ name: 'a', image: 'i' }] } } } };
  expect(() => validateManifest(base)).toThrow(/completionsMode/);
  expect(unknownFields({ spec: { template: { spec: { containers: [{ name: 'a', imagePullPolicyy: 'x' }] } } } }, 'V1Job')).toEqual(['spec.template.spec.containers[0].imagePullPolicyy']);
  const pj = (specs: Obj, name = 'good') => ({ apiVersion: 'kubeflow.org/v1', kind: 'PyTorchJob', metadata: { name }, spec: { pytorchReplicaSpecs: specs } });
  const tpl = (cname = 'pytorch') => ({ spec: { containers: [{ name: cname, image: 'i' }] } });
  expect(() => validateManifest(pj({ Master: { replicas: 1, template: tpl() } }))).not.toThrow();
  expect(() => validateManifest(pj({ Master: { template: tpl() } }))).toThrow(/must be 1/);
  expect(() => validateManifest(pj({ Master: { replicas: 1, template: tpl() }, worker: { replicas: 1, template: tpl() } }))).toThrow(/Not supported: "worker"/);
  expect(() => validateManifest(pj({ Master: { replicas: 1, template: tpl('main') } }))).toThrow(/named pytorch/);
  expect(() => validateManifest(pj({ Master: { replicas: 1, template: tpl() } }, '1job'))).toThrow(/DNS-1035/);
  expect(() => validateManifest({ ...pj({ Master: { replicas: '1', template: tpl() } }) })).toThrow(/CRD schema/);
  expect(() => validateManifest({ ...pj({ Master: { replicas: 1, template: tpl() } }), spec: { nprocPerNode: 8, pytorchReplicaSpecs: { Master: { replicas: 1, template: tpl() } } } })).toThrow(/CRD schema/);
  expect(() => validateManifest({ ...pj({}), spec: { runPolicy: { cleanPodPolicyy: 'All' }, pytorchReplicaSpecs: { Master: { replicas: 1, template: tpl() } } } })).toThrow(/cleanPodPolicyy/);
});
