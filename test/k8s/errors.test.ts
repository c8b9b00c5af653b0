/** Bad input and bad clusters: each gives one actionable line. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LauncherError } from '../../src/errors.js';
import { createLauncher } from '../../launchers/k8s/index.js';
import { k8sJobName } from '../../launchers/k8s/names.js';
import { FakeCluster } from './fake/apiserver.js';
import { sampleJob } from './helpers/job.js';
import { freePort } from './helpers/e2e.js';

const tmp = mkdtempSync(join(tmpdir(), 'k8s-errors-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let cluster: FakeCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

async function submitError(flags: Record<string, unknown>, kubeconfig?: string): Promise<LauncherError> {
  const launcher = createLauncher({ image: 'ssl:test', ...(kubeconfig ? { kubeconfig } : {}), ...flags });
  const err = await launcher
    .dryRun(sampleJob(join(tmp, 'job')), {})
    .then((d) => launcher.submit(d))
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(LauncherError);
  return err as LauncherError;
}

test('no kubeconfig: says where it looked', async () => {
  const saved = { KUBECONFIG: process.env.KUBECONFIG, HOME: process.env.HOME, KUBERNETES_SERVICE_HOST: process.env.KUBERNETES_SERVICE_HOST };
  process.env.HOME = join(tmp, 'empty-home');
  delete process.env.KUBECONFIG;
  delete process.env.KUBERNETES_SERVICE_HOST;
  try {
    const e = await submitError({ 'k8s-kind': 'indexed-job' });
    expect(e.code).toBe('K8S_NO_KUBECONFIG');
    expect(e.message).toMatch(/no kubeconfig: set KUBECONFIG, create ~\/.kube\/config/);
    process.env.KUBECONFIG = join(tmp, 'missing.yaml');
    expect((await submitError({ 'k8s-kind': 'indexed-job' })).message).toMatch(/kubeconfig .*missing.yaml not found \(KUBECONFIG\)/);
    // a dry run still renders without a cluster (kind defaults to pytorchjob, and says why)
    const dry = await createLauncher({ image: 'ssl:test' }).dryRun(sampleJob(join(tmp, 'job')), {});
    expect(dry.render()).toMatch(/^# kind pytorchjob \(default\): could not ask the cluster \(kubeconfig .* not found/);
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

test('unreachable API server: names the server and the context', async () => {
  const port = await freePort(); // nothing listens there
  const kubeconfig = join(tmp, 'unreachable.yaml');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster:\n    server: http://127.0.0.1:${port}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: gone\n  context:\n    cluster: gone\n    user: u\ncurrent-context: gone\n`,
  );
  const e = await submitError({ 'k8s-kind': 'indexed-job' }, kubeconfig);
  expect(e.code).toBe('K8S_UNREACHABLE');
  expect(e.message).toContain(`cannot reach the Kubernetes API server http://127.0.0.1:${port} (context "gone"): ECONNREFUSED`);
  const badContext = await submitError({ 'k8s-kind': 'indexed-job', context: 'prod' }, kubeconfig);
  expect(badContext.message).toBe(`no context "prod" in ${kubeconfig}; contexts: gone`);
});

test('RBAC 403: names the verb and the resource', async () => {
  cluster = await new FakeCluster({ imageRoot: {}, workRoot: join(tmp, 'c1'), forbid: [{ verb: 'create', resource: 'pytorchjobs' }] }).start();
  const e = await submitError({ 'k8s-kind': 'pytorchjob' }, cluster.writeKubeconfig(join(tmp, 'kc1'), 'team-a'));
  expect(e.code).toBe('K8S_FORBIDDEN');
  expect(e.message).toMatch(/^forbidden: you may not create pytorchjobs.kubeflow.org in namespace "team-a" \(RBAC\); ask for a Role granting "create" on "pytorchjobs.kubeflow.org"/);
  // what was created before the refusal is removed again
  expect(cluster.list('configmaps', 'team-a')).toEqual([]);
});

test('PyTorchJob requested on a cluster without the CRD: says so and suggests --k8s-kind indexed-job', async () => {
  cluster = await new FakeCluster({ pytorchJobCrd: false, imageRoot: {}, workRoot: join(tmp, 'c2') }).start();
  const e = await submitError({ 'k8s-kind': 'pytorchjob' }, cluster.writeKubeconfig(join(tmp, 'kc2')));
  expect(e.code).toBe('K8S_NO_PYTORCHJOB_CRD');
  expect(e.message).toMatch(/does not serve kubeflow.org\/v1 PyTorchJob .*; use --k8s-kind indexed-job/);
  expect(cluster.list('configmaps', 'default')).toEqual([]);
});

test('an existing job of the same name: conflict, with what to do', async () => {
  cluster = await new FakeCluster({ imageRoot: {}, workRoot: join(tmp, 'c3'), startDelayMs: 60000 }).start();
  const kc = cluster.writeKubeconfig(join(tmp, 'kc3'));
  const launcher = createLauncher({ image: 'ssl:test', kubeconfig: kc, 'k8s-kind': 'indexed-job', 'job-name': 'twice' });
  await launcher.submit(await launcher.dryRun(sampleJob(join(tmp, 'job')), {}));
  const e = await submitError({ 'k8s-kind': 'indexed-job', 'job-name': 'twice' }, kc);
  expect(e.code).toBe('K8S_CONFLICT');
  expect(e.message).toMatch(/"twice-config" already exists in namespace "default"; choose another --job-name or cancel the old job/);
});

test('image missing', async () => {
  const launcher = createLauncher({ 'k8s-kind': 'pytorchjob' });
  await expect(launcher.dryRun(sampleJob(join(tmp, 'job')), {})).rejects.toThrow(/--image is required with --launcher k8s/);
});

test('job names: an explicit invalid name is rejected with the reason; a derived one is sanitised to a DNS-1035 label', async () => {
  const launcher = createLauncher({ image: 'ssl:test', 'k8s-kind': 'pytorchjob', namespace: 'x' });
  await expect(launcher.dryRun(sampleJob(join(tmp, 'job')), { 'job-name': 'SimCLR_run#1' })).rejects.toThrow(
    /job name "SimCLR_run#1" is not a valid Kubernetes name: it must consist of lowercase letters, digits and '-', start with a letter .*; try --job-name simclr-run-1/,
  );
  await expect(launcher.dryRun(sampleJob(join(tmp, 'job')), { 'job-name': `a${'b'.repeat(60)}` })).rejects.toThrow(/it has 61 characters; at most 52/);
  await expect(launcher.dryRun(sampleJob(join(tmp, 'job')), { 'job-name': '9lives' })).rejects.toThrow(/start with a letter.*try --job-name ssl-9lives/);
  expect(k8sJobName('simclr_resnet50_8xb32-coslr-200e_in1k', 'mabc12-7f3e9a', false)).toBe('simclr-resnet50-8xb32-coslr-200e-in1k-f3e9a');
  expect(k8sJobName('1xb32_Test', 'r-abcdef', false)).toBe('ssl-1xb32-test-bcdef');
  const long = k8sJobName('x'.repeat(80), 'r-abcdef', false);
  expect(long.length).toBeLessThanOrEqual(52);
  expect(long).toMatch(/^x+-bcdef$/);
  await expect(launcher.dryRun(sampleJob(join(tmp, 'job')), { 'k8s-kind': 'volcano' })).rejects.toThrow(/unknown --k8s-kind "volcano"; use one of auto, pytorchjob, indexed-job, trainjob$/);
});
