/**
 * `--k8s-kind auto` (the default): the launcher asks the cluster's discovery documents which kinds it serves and
 * prefers TrainJob, then PyTorchJob, then the Indexed Job; the dry run says which and why. A kind named explicitly
 * that the cluster does not serve is one line, exit 2, naming the kind it does serve.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { createLauncher } from '../../launchers/k8s/index.js';
import { FakeCluster } from './fake/apiserver.js';
import { ROOT, tinyConfig } from './helpers/e2e.js';
import { sampleJob } from './helpers/job.js';
import { validateManifest } from './helpers/schemas.js';

const tmp = mkdtempSync(join(tmpdir(), 'k8s-auto-'));
let cluster: FakeCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function kubeconfigFor(serves: { trainJob: boolean; pyTorchJob: boolean }, name: string): Promise<string> {
  cluster = await new FakeCluster({ trainJobCrd: serves.trainJob, pytorchJobCrd: serves.pyTorchJob, imageRoot: {}, workRoot: join(tmp, name) }).start();
  return cluster.writeKubeconfig(join(tmp, `${name}.kubeconfig`), 'team');
}

test.each([
  [{ trainJob: true, pyTorchJob: true }, 'trainjob', 'kind trainjob: the cluster serves trainer.kubeflow.org/v1alpha1 TrainJob (Kubeflow Trainer v2)', ['ConfigMap', 'TrainJob']],
  [{ trainJob: true, pyTorchJob: false }, 'trainjob', 'kind trainjob: the cluster serves trainer.kubeflow.org/v1alpha1 TrainJob (Kubeflow Trainer v2)', ['ConfigMap', 'TrainJob']],
  [{ trainJob: false, pyTorchJob: true }, 'pytorchjob', 'kind pytorchjob: the cluster serves kubeflow.org/v1 PyTorchJob (Kubeflow training operator), not trainer.kubeflow.org/v1alpha1 TrainJob', ['ConfigMap', 'PyTorchJob']],
  [{ trainJob: false, pyTorchJob: false }, 'indexed-job', 'kind indexed-job: the cluster does not serve kubeflow.org/v1 PyTorchJob or trainer.kubeflow.org/v1alpha1 TrainJob', ['ConfigMap', 'Service', 'Job']],
])('auto on a cluster serving %j chooses %s and says why', async (serves, kind, reason, kinds) => {
  const kubeconfig = await kubeconfigFor(serves, `c-${kind}-${serves.trainJob}-${serves.pyTorchJob}`);
  for (const flags of [{ 'k8s-kind': 'auto' }, {}]) {
    const dry = await createLauncher({ kubeconfig, image: 'reg/ssl:1' }).dryRun(sampleJob(join(tmp, 'job')), flags);
    expect((dry.request as { kind: string }).kind).toBe(kind);
    const text = dry.render();
    expect(text.split('\n')[0]).toBe(`# ${reason}`);
    const docs = parseAllDocuments(text).map((d) => d.toJS()).filter(Boolean);
    expect(docs.map((d) => d.kind)).toEqual(kinds);
    for (const d of docs) validateManifest(d);
  }
  expect(cluster!.requests).toEqual(expect.arrayContaining(['get discovery/trainer.kubeflow.org/v1alpha1', 'get discovery/kubeflow.org/v1']));
});

function ssl(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(KUBECONFIG|KUBERNETES_SERVICE_HOST)$/.test(k)));
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin/run.js'), ...args], { cwd: ROOT, env: { ...clean, HOME: join(tmp, 'home'), ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
const config = () => tinyConfig() ?? join(ROOT, 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml');

test('ssl train --k8s-kind auto --dry-run prints the chosen kind and why above the manifests', async () => {
  const kubeconfig = await kubeconfigFor({ trainJob: true, pyTorchJob: true }, 'cli-auto');
  const r = await ssl(['train', config(), '--launcher', 'k8s', '--k8s-kind', 'auto', '--nodes', '2', '--image', 'reg/ssl:1', '--work-dir', join(tmp, 'wd'), '--dry-run'], { KUBECONFIG: kubeconfig });
  expect(r.code).toBe(0);
  expect(r.stdout.split('\n')[0]).toBe('# kind trainjob: the cluster serves trainer.kubeflow.org/v1alpha1 TrainJob (Kubeflow Trainer v2)');
  const docs = parseAllDocuments(r.stdout).map((d) => d.toJS()).filter(Boolean);
  expect(docs.map((d) => [d.kind, d.metadata.namespace])).toEqual([['ConfigMap', 'team'], ['TrainJob', 'team']]);
  expect(cluster!.requests.filter((q) => q.startsWith('create'))).toEqual([]);
}, 60000);

test('ssl train --k8s-kind trainjob on a cluster that serves only PyTorchJob: one line naming the kind it serves, exit 2, nothing created', async () => {
  const kubeconfig = await kubeconfigFor({ trainJob: false, pyTorchJob: true }, 'cli-named');
  const r = await ssl(['train', config(), '--launcher', 'k8s', '--k8s-kind', 'trainjob', '--image', 'reg/ssl:1', '--work-dir', join(tmp, 'wd2')], { KUBECONFIG: kubeconfig });
  expect(r.code).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toBe(
    'Error: the cluster does not serve trainer.kubeflow.org/v1alpha1 TrainJob (Kubeflow Trainer v2 is not installed); use --k8s-kind pytorchjob (what this cluster serves; --k8s-kind auto chooses it), or install the Trainer',
  );
  expect(cluster!.requests.filter((q) => q.startsWith('create'))).toEqual([]);
}, 60000);
