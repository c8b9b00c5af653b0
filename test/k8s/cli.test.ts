/**
 * The commands users type: `ssl train --launcher k8s` (dry run and submit) and `ssl jobs status|cancel`
 * against the fake API server. Runs the compiled CLI (bin/run.js -> lib/), as `npm test` builds it first.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { FakeCluster } from './fake/apiserver.js';
import { ROOT, tinyConfig } from './helpers/e2e.js';
import { validateManifest } from './helpers/schemas.js';

const tmp = mkdtempSync(join(tmpdir(), 'k8s-cli-'));
let cluster: FakeCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function ssl(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(KUBECONFIG|KUBERNETES_SERVICE_HOST)$/.test(k)));
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin/run.js'), ...args], { cwd: ROOT, env: { ...clean, HOME: join(tmp, 'home'), ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const config = () => tinyConfig() ?? join(ROOT, 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml');

test('ssl train --launcher k8s --dry-run prints the exact manifests, valid, without a cluster', async () => {
  const r = await ssl(['train', config(), '--launcher', 'k8s', '--k8s-kind', 'pytorchjob', '--nodes', '2', '--gpus-per-node', '8', '--image', 'reg/ssl:1', '--s3-secret', 's3-creds', '--work-dir', join(tmp, 'wd'), '--dry-run']);
  expect(r.stderr).toMatch(/^ssl train --launcher k8s: the request below would be submitted; nothing was submitted\n$/);
  expect(r.code).toBe(0);
  const docs = parseAllDocuments(r.stdout).map((d) => d.toJS()).filter(Boolean);
  expect(docs.map((d) => d.kind)).toEqual(['ConfigMap', 'PyTorchJob']);
  for (const d of docs) validateManifest(d);
  expect(docs[1].spec.pytorchReplicaSpecs.Worker.replicas).toBe(1);
  expect(docs[1].spec.nprocPerNode).toBe('8');
}, 60000);

test('ssl train submits; ssl jobs status and cancel find the job again', async () => {
  cluster = await new FakeCluster({ imageRoot: {}, workRoot: join(tmp, 'c1'), unschedulable: /./ }).start();
  const kubeconfig = cluster.writeKubeconfig(join(tmp, 'kc1'), 'team');
  const submit = await ssl(['train', config(), '--launcher', 'k8s', '--nodes', '2', '--image', 'reg/ssl:1', '--job-name', 'cli-job', '--pvc', 'work', '--work-dir', join(tmp, 'wd')], { KUBECONFIG: kubeconfig });
  expect(submit.stderr).toContain('Submitted k8s job team/pytorchjob/cli-job');
  expect(submit.code).toBe(0);
  const status = await ssl(['jobs', 'status', 'team/pytorchjob/cli-job'], { KUBECONFIG: kubeconfig });
  expect(status.stdout.trim()).toBe('k8s job team/pytorchjob/cli-job: PENDING - Created: PyTorchJob cli-job is created.');
  const cancel = await ssl(['jobs', 'cancel', 'cli-job'], { KUBECONFIG: kubeconfig });
  expect(cancel.code).toBe(0);
  for (const r of ['pytorchjobs', 'pods', 'configmaps']) expect(cluster.list(r, 'team')).toEqual([]);
}, 60000);

test('ssl train on a cluster without the operator, asked for a PyTorchJob: one line, exit code 2', async () => {
  cluster = await new FakeCluster({ pytorchJobCrd: false, imageRoot: {}, workRoot: join(tmp, 'c2') }).start();
  const kubeconfig = cluster.writeKubeconfig(join(tmp, 'kc2'));
  const r = await ssl(['train', config(), '--launcher', 'k8s', '--k8s-kind', 'pytorchjob', '--image', 'reg/ssl:1', '--work-dir', join(tmp, 'wd')], { KUBECONFIG: kubeconfig });
  expect(r.code).toBe(2);
  expect(r.stderr.trim().split('\n').pop()).toMatch(/^Error: the cluster does not serve kubeflow.org\/v1 PyTorchJob .* use --k8s-kind indexed-job/);
}, 60000);
