/**
 * End to end through the same code path as a real cluster: `ssl train`'s submitTraining -> the k8s launcher ->
 * @kubernetes/client-node -> an in-process fake API server whose controllers and kubelet run each pod as a
 * local process with the environment the operator / Job controller would give it.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createLauncher } from '../../launchers/k8s/index.js';
import { submitTraining } from '../../launchers/run-training.js';
import { prepareTrainJob } from '../../launchers/train-job.js';
import { FakeCluster } from './fake/apiserver.js';
import { Capture, e2eConfig, freePort, imageRoot, realImage } from './helpers/e2e.js';

const LONG = 120000;

let tmp: string;
let cluster: FakeCluster | undefined;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'k8s-e2e-'));
});
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
  rmSync(tmp, { recursive: true, force: true });
});

/** Polls `cond` every 50 ms; fails after 20 s. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${cond}`);
}

/** Samples the job's phase (first word of the status message) until it ends. */
function samplePhases(kubeconfig: string, id: () => string | undefined): { phases: string[]; stop: () => void } {
  const launcher = createLauncher({ kubeconfig });
  const phases: string[] = [];
  let running = true;
  (async () => {
    while (running) {
      const jobId = id();
      if (jobId) {
        const s = await launcher.status(jobId).catch(() => undefined);
        const phase = s?.message?.split(':')[0];
        if (phase && phases[phases.length - 1] !== phase) phases.push(phase);
      }
      await new Promise((r) => setTimeout(r, 40));
    }
  })();
  return { phases, stop: () => (running = false) };
}

test(`--nodes 2 PyTorchJob trains to completion; status Created -> Running -> Succeeded; --follow shows rank 0's log (${realImage() ? 'real agent/worker' : 'stand-in image'})`, async () => {
  cluster = await new FakeCluster({ imageRoot: { '/opt/ssl': imageRoot() }, workRoot: join(tmp, 'cluster'), startDelayMs: 800 }).start();
  cluster.addSecret('default', 's3-creds', { AWS_ACCESS_KEY_ID: 'AKIAFAKE', AWS_SECRET_ACCESS_KEY: 'fake-secret-value' });
  const kubeconfig = cluster.writeKubeconfig(join(tmp, 'kubeconfig'));
  const prepared = prepareTrainJob({ config: e2eConfig(tmp), workDir: join(tmp, 'work_dirs', 'tiny'), nodes: 2, port: await freePort() });
  const out = new Capture();
  const jobs = () => cluster?.list('pytorchjobs', 'default') ?? [];
  const sampler = samplePhases(kubeconfig, () => (jobs()[0] ? `default/pytorchjob/${jobs()[0].metadata.name}` : undefined));
  const started = Date.now();
  let code: number;
  try {
    code = await submitTraining(
      prepared,
      { launcher: 'k8s', kubeconfig, image: 'ssl:test', 'k8s-kind': 'pytorchjob', pvc: 'train-pvc', 's3-secret': 's3-creds', follow: true, wait: true, pollIntervalMs: 100 },
      out as unknown as NodeJS.WritableStream,
    );
    await new Promise((r) => setTimeout(r, 150));
  } finally {
    sampler.stop();
  }
  process.stderr.write(`k8s e2e pytorchjob: ${Date.now() - started} ms\n`);

  expect(code).toBe(0);
  expect(sampler.phases.filter((p) => p !== 'Submitted')).toEqual(['Created', 'Running', 'Succeeded']);
  expect(out.text).toContain('[rank 0]');
  expect(out.text).not.toMatch(/\[rank [1-9]\d*\]/);
  const job = jobs()[0];
  // the operator's pods, by name (the worker may be gone already: cleanPodPolicy Running once the master succeeded)
  expect([...cluster.containers.keys()].sort()).toEqual([`default/${job.metadata.name}-master-0`, `default/${job.metadata.name}-worker-0`]);
  if (process.env.SSL_K8S_E2E_SHOW) process.stderr.write(`--- follow output ---\n${out.text}\n--- worker pod ---\n${cluster.containers.get(`default/${job.metadata.name}-worker-0`)!.log}\n`);
  // node 1 got the operator's variables (master name resolved to this host) and the Secret's keys, which no manifest holds
  const workerEnv = cluster.containers.get(`default/${job.metadata.name}-worker-0`)!.env;
  expect(workerEnv).toMatchObject({ RANK: '1', PET_NODE_RANK: '1', PET_NNODES: '2', WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', AWS_SECRET_ACCESS_KEY: 'fake-secret-value' });
  expect(JSON.stringify([...cluster.store.values()].filter((o) => o.kind !== 'Secret'))).not.toContain('fake-secret-value');
  const workDir = join(tmp, 'cluster', 'pvc', 'train-pvc', basename(prepared.job.workDir));
  const files = readdirSync(workDir);
  if (realImage()) {
    expect(files).toContain('epoch_1.ckpt');
    expect(out.text).toContain('Distributed training: true');
    // 16 samples, 8 per process: one iteration per epoch only when both nodes share the data
    expect(out.text).toMatch(/Epoch \[1\]\[1\/1\]/);
  }
  else expect(files.sort()).toEqual(['node-0.done', 'node-1.done']);
}, LONG);

test('Indexed Job (chosen because the cluster has no PyTorchJob CRD): a node that dies fails the job and --wait exits non-zero', async () => {
  cluster = await new FakeCluster({
    pytorchJobCrd: false,
    imageRoot: { '/opt/ssl': imageRoot() },
    workRoot: join(tmp, 'cluster'),
    startDelayMs: 200,
    killPod: { name: /-1-[0-9a-f]{5}$/, afterMs: 0 },
  }).start();
  const kubeconfig = cluster.writeKubeconfig(join(tmp, 'kubeconfig'));
  const prepared = prepareTrainJob({ config: e2eConfig(tmp), workDir: join(tmp, 'work_dirs', 'tiny'), nodes: 2, port: await freePort() });
  const launcher = createLauncher({ kubeconfig, image: 'ssl:test', pollIntervalMs: 100 });
  const dry = await launcher.dryRun(prepared.job, {});
  expect(dry.render()).toMatch(/^# kind indexed-job: the cluster does not serve kubeflow.org\/v1 PyTorchJob/);
  const code = await submitTraining(prepared, { launcher: 'k8s', kubeconfig, image: 'ssl:test', wait: true, pollIntervalMs: 100 }, new Capture() as unknown as NodeJS.WritableStream);
  expect(code).toBe(137);
  const job = cluster.list('jobs', 'default')[0];
  const status = await launcher.status(`default/indexed-job/${job.metadata.name}`);
  expect(status).toMatchObject({ state: 'FAILED', exitCode: 137 });
  expect(status.message).toMatch(/^Failed: PodFailurePolicy/);
  // ssl jobs status names the pod that failed and its exit code
  expect(status.message).toMatch(/; pod \S+ exited 137/);
  // node 0 was waiting for its peer: the job's failure stopped it instead of leaving it hanging
  const procs = [...cluster.containers.values()];
  expect(procs.every((c) => c.exited)).toBe(true);
}, LONG);

test('PyTorchJob: a worker pod killed every time it starts is restarted --max-restarts times (restartPolicy ExitCode: 137 is retryable), then the job fails and --wait exits non-zero', async () => {
  cluster = await new FakeCluster({ imageRoot: { '/opt/ssl': imageRoot() }, workRoot: join(tmp, 'cluster'), startDelayMs: 200, killPod: { name: /-worker-0$/, afterMs: 0 } }).start();
  const kubeconfig = cluster.writeKubeconfig(join(tmp, 'kubeconfig'));
  const prepared = prepareTrainJob({ config: e2eConfig(tmp), workDir: join(tmp, 'work_dirs', 'tiny'), nodes: 2, port: await freePort() });
  const code = await submitTraining(prepared, { launcher: 'k8s', kubeconfig, image: 'ssl:test', 'k8s-kind': 'pytorchjob', 'max-restarts': 1, wait: true, pollIntervalMs: 100 }, new Capture() as unknown as NodeJS.WritableStream);
  expect(code).toBe(137);
  const job = cluster.list('pytorchjobs', 'default')[0];
  const name = job.metadata.name;
  expect(job.spec.runPolicy.backoffLimit).toBe(1);
  expect(job.status.conditions.map((c: { type: string }) => c.type)).toContain('Restarting');
  const status = await createLauncher({ kubeconfig }).status(`default/pytorchjob/${name}`);
  expect(status).toMatchObject({ state: 'FAILED', exitCode: 137 });
  expect(status.message).toBe(`Failed: PyTorchJob ${name} has failed because it has reached the specified backoff limit; pod ${name}-worker-0 exited 137${status.message!.endsWith(')') ? status.message!.slice(status.message!.lastIndexOf(' (')) : ''}`);
  await until(() => [...cluster!.containers.values()].every((c) => c.exited));
}, LONG);

test('ssl jobs status/logs/cancel: cancel deletes the job, its pods, Service and ConfigMap', async () => {
  // node 2 is never scheduled, so nodes 0 and 1 run and wait for it while we look and cancel
  cluster = await new FakeCluster({ imageRoot: { '/opt/ssl': imageRoot() }, workRoot: join(tmp, 'cluster'), startDelayMs: 100, unschedulable: /-2-[0-9a-f]{5}$/ }).start();
  const kubeconfig = cluster.writeKubeconfig(join(tmp, 'kubeconfig'));
  const prepared = prepareTrainJob({ config: e2eConfig(tmp), workDir: join(tmp, 'work_dirs', 'tiny'), nodes: 3, port: await freePort() });
  const launcher = createLauncher({ kubeconfig, image: 'ssl:test', pollIntervalMs: 50 });
  const handle = await launcher.submit(await launcher.dryRun(prepared.job, { 'k8s-kind': 'indexed-job', 'job-name': 'cancel-me' }));
  expect(handle.id).toBe('default/indexed-job/cancel-me');
  expect(cluster.get('configmaps', 'default', 'cancel-me-config')!.metadata.ownerReferences[0]).toMatchObject({ kind: 'Job', name: 'cancel-me' });
  // bare names resolve too (ssl jobs status cancel-me)
  expect((await launcher.status('cancel-me')).id).toBe(handle.id);
  // rank 1's log is node 1's pod's (read once its container has started)
  await until(() => cluster!.containers.size === 2 && [...cluster!.containers.values()].every((c) => c.proc));
  await launcher.logs(handle.id, new Capture() as unknown as NodeJS.WritableStream, { rank: 1 });
  expect(cluster.requests.filter((r) => r.startsWith('get pods/log/'))).toEqual([expect.stringMatching(/^get pods\/log\/cancel-me-1-[0-9a-f]{5}$/)]);
  expect((await launcher.status(handle.id)).state).toBe('RUNNING');
  const procs = [...cluster.containers.values()];
  await launcher.cancel(handle.id);
  expect(procs.length).toBe(2);
  await until(() => procs.every((c) => c.exited));
  for (const r of ['jobs', 'pods', 'services', 'configmaps']) expect(cluster.list(r, 'default')).toEqual([]);
  await expect(launcher.status(handle.id)).rejects.toThrow(/no Kubernetes job "cancel-me" in namespace "default"/);
}, LONG);
