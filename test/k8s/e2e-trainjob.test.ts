/**
 * `--k8s-kind trainjob` end to end: the launcher creates a Kubeflow Trainer v2 TrainJob through @kubernetes/client-node's
 * CustomObjectsApi; the fake API server admits it against the real TrainJob CRD (../shared/data/kubeflow-trainer/) and
 * the torch-distributed ClusterTrainingRuntime, and its Trainer/JobSet controllers run the pods as local processes.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { createLauncher } from '../../launchers/k8s/index.js';
import { submitTraining } from '../../launchers/run-training.js';
import { prepareTrainJob } from '../../launchers/train-job.js';
import { FakeCluster, type FakeClusterOptions } from './fake/apiserver.js';
import { Capture, e2eConfig, freePort, imageRoot, realImage } from './helpers/e2e.js';
import { TRAINER_RUNTIME_PATH } from './helpers/schemas.js';

type Obj = Record<string, any>;
const LONG = 120000;
const torchRuntime = (): Obj => parseAllDocuments(readFileSync(TRAINER_RUNTIME_PATH, 'utf8')).map((d) => d.toJS()).find((d: Obj) => d?.kind === 'ClusterTrainingRuntime');

let tmp: string;
let cluster: FakeCluster | undefined;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'k8s-e2e-trainjob-'));
});
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
  rmSync(tmp, { recursive: true, force: true });
});

async function trainerCluster(over: Partial<FakeClusterOptions> = {}): Promise<{ cluster: FakeCluster; kubeconfig: string }> {
  cluster = await new FakeCluster({
    trainJobCrd: true,
    runtimes: [torchRuntime()],
    trainerMasterPort: await freePort(),
    imageRoot: { '/opt/ssl': imageRoot() },
    workRoot: join(tmp, 'cluster'),
    startDelayMs: 200,
    ...over,
  }).start();
  return { cluster, kubeconfig: cluster.writeKubeconfig(join(tmp, 'kubeconfig')) };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${cond}`);
}

test(`--nodes 2 TrainJob trains to completion: created through the CRD, JobSet pods, status Created -> Running -> Succeeded, --follow shows rank 0 (${realImage() ? 'real agent/worker' : 'stand-in image'})`, async () => {
  const { kubeconfig } = await trainerCluster({ startDelayMs: 600 });
  cluster!.addSecret('default', 's3-creds', { AWS_ACCESS_KEY_ID: 'AKIAFAKE', AWS_SECRET_ACCESS_KEY: 'fake-secret-value' });
  const prepared = prepareTrainJob({ config: e2eConfig(tmp), workDir: join(tmp, 'work_dirs', 'tiny'), nodes: 2, port: await freePort() });
  const out = new Capture();
  const phases: string[] = [];
  const launcher = createLauncher({ kubeconfig });
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const tj = cluster?.list('trainjobs', 'default')[0];
      const s = tj && (await launcher.status(`default/trainjob/${tj.metadata.name}`).catch(() => undefined));
      const phase = s?.message?.split(':')[0];
      if (phase && phases[phases.length - 1] !== phase) phases.push(phase);
      await new Promise((r) => setTimeout(r, 40));
    }
  })();
  let code: number;
  try {
    code = await submitTraining(
      prepared,
      { launcher: 'k8s', kubeconfig, image: 'ssl:test', 'k8s-kind': 'trainjob', pvc: 'train-pvc', 's3-secret': 's3-creds', follow: true, wait: true, pollIntervalMs: 100 },
      out as unknown as NodeJS.WritableStream,
    );
    await new Promise((r) => setTimeout(r, 150));
  } finally {
    sampling = false;
    await sampler;
  }
  expect({ code, out: code === 0 ? '' : out.text.slice(-3000) }).toEqual({ code: 0, out: '' });
  expect(phases).toEqual(['Created', 'Running', 'Succeeded']);
  expect(out.text).toContain('[rank 0]');
  expect(out.text).not.toMatch(/\[rank [1-9]\d*\]/);

  const tj = cluster!.list('trainjobs', 'default')[0];
  const name = tj.metadata.name;
  expect(tj.status.conditions).toEqual([expect.objectContaining({ type: 'Complete', status: 'True', reason: 'AllJobsCompleted' })]);
  expect(cluster!.get('jobsets', 'default', name)!.metadata.ownerReferences[0]).toMatchObject({ kind: 'TrainJob', name });
  expect(cluster!.get('configmaps', 'default', `${name}-config`)!.metadata.ownerReferences[0]).toMatchObject({ apiVersion: 'trainer.kubeflow.org/v1alpha1', kind: 'TrainJob', name });
  // the JobSet's pods: <trainjob>-node-0-<index>-xxxxx, rank from the completion index, master the Trainer's, the Secret's keys by secretKeyRef
  const pods = cluster!.list('pods', 'default').sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  expect(pods.map((p) => p.metadata.name)).toEqual([expect.stringMatching(new RegExp(`^${name}-node-0-0-[0-9a-f]{5}$`)), expect.stringMatching(new RegExp(`^${name}-node-0-1-[0-9a-f]{5}$`))]);
  expect(pods[1].metadata.labels).toMatchObject({ 'jobset.sigs.k8s.io/jobset-name': name, 'ssl/job-name': name, 'ssl/run-id': prepared.job.runId });
  const env = cluster!.containers.get(`default/${pods[1].metadata.name}`)!.env;
  expect(env).toMatchObject({ PET_NODE_RANK: '1', PET_NNODES: '2', PET_MASTER_ADDR: '127.0.0.1', SSL_RUN_ID: prepared.job.runId, AWS_SECRET_ACCESS_KEY: 'fake-secret-value' });
  expect(env.AWS_SESSION_TOKEN).toBeUndefined();
  expect(JSON.stringify([...cluster!.store.values()].filter((o) => o.kind !== 'Secret'))).not.toContain('fake-secret-value');
  const files = readdirSync(join(tmp, 'cluster', 'pvc', 'train-pvc', basename(prepared.job.workDir)));
  if (realImage()) {
    expect(files).toContain('epoch_1.ckpt');
    expect(out.text).toMatch(/Epoch \[1\]\[1\/1\]/);
  } else expect(files.sort()).toEqual(['node-0.done', 'node-1.done']);
  expect(await launcher.status(`default/trainjob/${name}`)).toMatchObject({ state: 'SUCCEEDED', exitCode: 0, message: 'Succeeded' });
}, LONG);

test('TrainJob: a node whose container exits 1 fails the JobSet; --wait exits 1 and ssl jobs status names the pod', async () => {
  const { kubeconfig } = await trainerCluster({ unschedulable: /-node-0-0-/, failPod: { name: /-node-0-1-/, code: 1, log: 'starting\nError: out of cheese\n' } });
  const prepared = prepareTrainJob({ config: e2eConfig(tmp), workDir: join(tmp, 'work_dirs', 'tiny'), nodes: 2, port: await freePort() });
  const code = await submitTraining(prepared, { launcher: 'k8s', kubeconfig, image: 'ssl:test', 'k8s-kind': 'trainjob', 'job-name': 'tj-fails', wait: true, pollIntervalMs: 100 }, new Capture() as unknown as NodeJS.WritableStream);
  expect(code).toBe(1);
  const tj = cluster!.get('trainjobs', 'default', 'tj-fails')!;
  expect(tj.status.conditions).toEqual([expect.objectContaining({ type: 'Failed', reason: 'FailedJobs' })]);
  const status = await createLauncher({ kubeconfig }).status('tj-fails');
  expect(status).toMatchObject({ id: 'default/trainjob/tj-fails', state: 'FAILED', exitCode: 1 });
  expect(status.message).toMatch(/^Failed: FailedJobs: jobset failed due to one or more job failures; pod tj-fails-node-0-1-[0-9a-f]{5} exited 1 \(Error\)/);
  // its last log lines, from the TrainJob's container (node)
  expect(status.logTail).toEqual({ source: `pod ${/pod (\S+) exited/.exec(status.message!)![1]}`, lines: ['starting', 'Error: out of cheese'] });
  // the JobSet's failure removed the pod still pending
  expect(cluster!.list('pods', 'default').filter((p) => /-node-0-0-/.test(p.metadata.name))).toEqual([]);
}, LONG);

test('TrainJob: ssl jobs status / logs / cancel; cancel removes the TrainJob, its JobSet, Jobs, pods, Service and ConfigMap', async () => {
  // node 2 is never scheduled: nodes 0 and 1 run and wait for it while we look and cancel
  const { kubeconfig } = await trainerCluster({ startDelayMs: 100, unschedulable: /-node-0-2-/ });
  const prepared = prepareTrainJob({ config: e2eConfig(tmp), workDir: join(tmp, 'work_dirs', 'tiny'), nodes: 3, port: await freePort() });
  const launcher = createLauncher({ kubeconfig, image: 'ssl:test', pollIntervalMs: 50 });
  const handle = await launcher.submit(await launcher.dryRun(prepared.job, { 'k8s-kind': 'trainjob', 'job-name': 'tj-cancel' }));
  expect(handle.id).toBe('default/trainjob/tj-cancel');
  expect(cluster!.requests).toContain('create trainjobs');
  await until(() => cluster!.containers.size === 2 && [...cluster!.containers.values()].every((c) => c.proc));
  expect(await launcher.status('tj-cancel')).toMatchObject({ id: handle.id, state: 'RUNNING', message: 'Running: 2/3 pods running' });
  await launcher.logs(handle.id, new Capture() as unknown as NodeJS.WritableStream, { rank: 1 });
  expect(cluster!.requests.filter((r) => r.startsWith('get pods/log/'))).toEqual([expect.stringMatching(/^get pods\/log\/tj-cancel-node-0-1-[0-9a-f]{5}$/)]);
  const procs = [...cluster!.containers.values()];
  await launcher.cancel(handle.id);
  await until(() => procs.every((c) => c.exited));
  for (const r of ['trainjobs', 'jobsets', 'jobs', 'pods', 'services', 'configmaps']) expect([r, cluster!.list(r, 'default')]).toEqual([r, []]);
  await expect(launcher.status(handle.id)).rejects.toThrow(/no Kubernetes job "tj-cancel" in namespace "default"/);
}, LONG);

test('the fake API server holds a TrainJob to the CRD and the Trainer webhook: unknown fields and a missing runtime are 422', async () => {
  const { kubeconfig } = await trainerCluster();
  const prepared = prepareTrainJob({ config: e2eConfig(tmp), workDir: join(tmp, 'work_dirs', 'tiny'), nodes: 1, port: await freePort() });
  const launcher = createLauncher({ kubeconfig, image: 'ssl:test' });
  const dry = await launcher.dryRun(prepared.job, { 'k8s-kind': 'trainjob', 'job-name': 'tj-admit' });
  const body = structuredClone((dry.request as { objects: Obj[] }).objects.find((o) => o.kind === 'TrainJob')!);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  const create = (b: Obj) => api.createNamespacedCustomObject({ group: 'trainer.kubeflow.org', version: 'v1alpha1', plural: 'trainjobs', namespace: 'default', body: b });
  await expect(create({ ...body, spec: { ...body.spec, trainer: { ...body.spec.trainer, numNode: 2 } } })).rejects.toMatchObject({ code: 422 });
  expect(cluster!.list('trainjobs', 'default')).toEqual([]);
  // through the launcher: one line naming what the server said
  await expect(launcher.submit(await launcher.dryRun(prepared.job, { 'k8s-kind': 'trainjob', runtime: 'no-such-runtime' }))).rejects.toThrow(
    /^the API server rejected the trainjobs.trainer.kubeflow.org: spec.runtimeRef: Invalid value: ClusterTrainingRuntime.trainer.kubeflow.org "no-such-runtime" not found$/,
  );
  // the objects created before the TrainJob are taken back
  expect(cluster!.list('configmaps', 'default')).toEqual([]);
}, LONG);

test('--k8s-kind trainjob on a cluster without Kubeflow Trainer: one clear error, nothing created', async () => {
  const { kubeconfig } = await trainerCluster({ trainJobCrd: false });
  const prepared = prepareTrainJob({ config: e2eConfig(tmp), workDir: join(tmp, 'work_dirs', 'tiny'), nodes: 1, port: await freePort() });
  const launcher = createLauncher({ kubeconfig, image: 'ssl:test' });
  await expect(launcher.submit(await launcher.dryRun(prepared.job, { 'k8s-kind': 'trainjob' }))).rejects.toThrow(
    /^the cluster does not serve trainer.kubeflow.org\/v1alpha1 TrainJob \(Kubeflow Trainer v2 is not installed\)/,
  );
  expect(cluster!.requests.filter((r) => r.startsWith('create'))).toEqual([]);
}, LONG);

describe('--render-runtime: the JobSet failure policy of ssl\'s TrainingRuntime', () => {
  test('a genuine failure (exit 1) fails the JobSet at once despite --max-restarts 3; the runtime is created before the TrainJob and owned by it', async () => {
    const { kubeconfig } = await trainerCluster({ unschedulable: /-node-0-0-/, failPod: { name: /-node-0-1-/, code: 1, log: 'Error: out of cheese\n' } });
    const prepared = prepareTrainJob({ config: e2eConfig(tmp), workDir: join(tmp, 'work_dirs', 'tiny'), nodes: 2, port: await freePort() });
    const flags = { launcher: 'k8s', kubeconfig, image: 'ssl:test', 'k8s-kind': 'trainjob', 'render-runtime': true, 'max-restarts': 3, 'job-name': 'tj-rt-fails', wait: true, pollIntervalMs: 100 };
    expect(await submitTraining(prepared, flags, new Capture() as unknown as NodeJS.WritableStream)).toBe(1);
    const creates = cluster!.requests.filter((r) => r.startsWith('create '));
    expect(creates).toEqual(['create configmaps', 'create trainingruntimes', 'create trainjobs']);
    const tj = cluster!.get('trainjobs', 'default', 'tj-rt-fails')!;
    expect(tj.spec.runtimeRef).toMatchObject({ kind: 'TrainingRuntime', name: 'tj-rt-fails-runtime' });
    expect(tj.status.conditions).toEqual([expect.objectContaining({ type: 'Failed', reason: 'FailJobSetFailurePolicyAction' })]);
    // no restart was spent on it: the Job failed by its podFailurePolicy, the JobSet's rule failed it
    const js = cluster!.get('jobsets', 'default', 'tj-rt-fails')!;
    expect(js.status).toMatchObject({ restarts: 0, restartsCountTowardsMax: 0 });
    expect(cluster!.get('jobs', 'default', 'tj-rt-fails-node-0')!.status.conditions).toContainEqual(expect.objectContaining({ type: 'Failed', reason: 'PodFailurePolicy' }));
    const rt = cluster!.get('trainingruntimes', 'default', 'tj-rt-fails-runtime')!;
    expect(rt.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'TrainJob', name: 'tj-rt-fails', uid: tj.metadata.uid })]);
    const status = await createLauncher({ kubeconfig }).status('tj-rt-fails');
    expect(status).toMatchObject({ state: 'FAILED', exitCode: 1 });
    expect(status.message).toMatch(/pod tj-rt-fails-node-0-1-[0-9a-f]{5} exited 1 \(Error\)/);
  }, LONG);

  test('pre-emption (exit 75) replaces the pod without a JobSet restart, even with --max-restarts 0', async () => {
    const { kubeconfig } = await trainerCluster({ failPod: { name: /-node-0-0-/, code: 75, log: 'pre-empted: checkpoint written\n', times: 2 } });
    const prepared = prepareTrainJob({ config: e2eConfig(tmp), workDir: join(tmp, 'work_dirs', 'tiny'), nodes: 1, port: await freePort() });
    const flags = { launcher: 'k8s', kubeconfig, image: 'ssl:test', 'k8s-kind': 'trainjob', 'render-runtime': true, 'max-restarts': 0, 'job-name': 'tj-rt-preempt', pvc: 'train-pvc', wait: true, pollIntervalMs: 100 };
    const out = new Capture();
    const code = await submitTraining(prepared, flags, out as unknown as NodeJS.WritableStream);
    expect({ code, out: code === 0 ? '' : out.text.slice(-2000) }).toEqual({ code: 0, out: '' });
    const pods = cluster!.list('pods', 'default').filter((p) => /^tj-rt-preempt-node-0-0-/.test(p.metadata.name));
    expect(pods.map((p) => p.status.phase).sort()).toEqual(['Failed', 'Failed', 'Succeeded']);
    expect(cluster!.get('jobsets', 'default', 'tj-rt-preempt')!.status).toMatchObject({ restarts: 0 });
    expect(cluster!.get('trainjobs', 'default', 'tj-rt-preempt')!.status.conditions).toEqual([expect.objectContaining({ type: 'Complete' })]);
  }, LONG);

  test('a runtime left by an earlier job of the same name is replaced; a running TrainJob\'s runtime is left alone; cancel removes it', async () => {
    const { kubeconfig } = await trainerCluster({ startDelayMs: 100, unschedulable: /-node-0-1-/ });
    const prepared = prepareTrainJob({ config: e2eConfig(tmp), workDir: join(tmp, 'work_dirs', 'tiny'), nodes: 2, port: await freePort() });
    const launcher = createLauncher({ kubeconfig, image: 'ssl:test', pollIntervalMs: 50 });
    const flags = { 'k8s-kind': 'trainjob', 'render-runtime': true, 'job-name': 'tj-rt' };
    // left behind, e.g. by a TrainJob deleted with --cascade=orphan
    const stale = (await launcher.dryRun(prepared.job, { ...flags, 'max-restarts': 1 })).request as { objects: Obj[] };
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    const api = kc.makeApiClient(k8s.CustomObjectsApi);
    const gvp = { group: 'trainer.kubeflow.org', version: 'v1alpha1', plural: 'trainingruntimes', namespace: 'default' };
    await api.createNamespacedCustomObject({ ...gvp, body: stale.objects.find((o) => o.kind === 'TrainingRuntime')! });
    const left = cluster!.get('trainingruntimes', 'default', 'tj-rt-runtime')!;
    expect(left.spec.template.spec.failurePolicy.maxRestarts).toBe(1);

    const handle = await launcher.submit(await launcher.dryRun(prepared.job, { ...flags, 'max-restarts': 4 }));
    expect(cluster!.requests).toContain('update trainingruntimes/tj-rt-runtime');
    const replaced = cluster!.get('trainingruntimes', 'default', 'tj-rt-runtime')!;
    expect(replaced.metadata.uid).toBe(left.metadata.uid);
    expect(replaced.spec.template.spec.failurePolicy.maxRestarts).toBe(4);
    expect(cluster!.get('jobsets', 'default', 'tj-rt')!.spec.failurePolicy.maxRestarts).toBe(4);

    // the same --job-name while that TrainJob exists: refused before its runtime is touched (by the ConfigMap's
    // conflict, or, the ConfigMap gone, by the TrainJob's)
    const again = async () => launcher.submit(await launcher.dryRun(prepared.job, { ...flags, 'max-restarts': 2 }));
    await expect(again()).rejects.toThrow(/configmaps "tj-rt-config" already exists .*choose another --job-name/);
    await kc.makeApiClient(k8s.CoreV1Api).deleteNamespacedConfigMap({ name: 'tj-rt-config', namespace: 'default' });
    await expect(again()).rejects.toThrow(/^trainjobs.trainer.kubeflow.org "tj-rt" already exists in namespace "default"; choose another --job-name/);
    expect(cluster!.requests.filter((r) => r.startsWith('update '))).toEqual(['update trainingruntimes/tj-rt-runtime']);
    expect(cluster!.get('trainingruntimes', 'default', 'tj-rt-runtime')!.spec.template.spec.failurePolicy.maxRestarts).toBe(4);
    expect(cluster!.get('trainjobs', 'default', 'tj-rt')).toBeDefined();

    await launcher.cancel(handle.id);
    expect(cluster!.requests).toContain('delete trainingruntimes/tj-rt-runtime');
    for (const r of ['trainjobs', 'trainingruntimes', 'jobsets', 'jobs', 'pods', 'configmaps']) expect([r, cluster!.list(r, 'default')]).toEqual([r, []]);
  }, LONG);
});
