/**
 * A genuine failure as a user sees it: a pod whose container exits 1 makes `ssl train --launcher k8s --wait` exit 1
 * naming the pod, and `ssl jobs status` names it with its exit code, reason and its last log lines (read with
 * readNamespacedPodLog tailLines). The fake API server drives the pod: it prints its log and exits 1, no process.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOG_TAIL_LINES } from '../../launchers/k8s/k8s-launcher.js';
import { FakeCluster } from './fake/apiserver.js';
import { ROOT, tinyConfig } from './helpers/e2e.js';

const tmp = mkdtempSync(join(tmpdir(), 'k8s-failure-'));
let cluster: FakeCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function ssl(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(KUBECONFIG|KUBERNETES_SERVICE_HOST)$/.test(k)));
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin/run.js'), ...args], { cwd: ROOT, env: { ...clean, HOME: join(tmp, 'home'), ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
const config = () => tinyConfig() ?? join(ROOT, 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml');

// 14 lines, so the tail shows that only the last LOG_TAIL_LINES were read
const LOG = [...Array.from({ length: 13 }, (_, i) => `[rank 8] Epoch [1][${i + 1}/100] loss: ${(5 - i * 0.1).toFixed(4)}`), '[rank 8] RuntimeError: NaN loss at iteration 14'];

test('a worker pod exiting 1: ssl train --wait exits 1 naming the pod; ssl jobs status shows its exit code, reason and last log lines', async () => {
  // the master never starts (its peer fails first); the worker prints LOG and exits 1 (restartPolicy ExitCode: 1 is permanent)
  cluster = await new FakeCluster({ imageRoot: {}, workRoot: join(tmp, 'c'), startDelayMs: 100, unschedulable: /-master-0$/, failPod: { name: /-worker-0$/, code: 1, log: `${LOG.join('\n')}\n` } }).start();
  const kubeconfig = cluster.writeKubeconfig(join(tmp, 'kc'), 'team');
  const env = { KUBECONFIG: kubeconfig };
  const train = await ssl(['train', config(), '--launcher', 'k8s', '--k8s-kind', 'pytorchjob', '--nodes', '2', '--gpus-per-node', '8', '--image', 'reg/ssl:1', '--job-name', 'nan-run', '--pvc', 'work', '--work-dir', join(tmp, 'wd'), '--wait'], env);
  expect(train.code).toBe(1);
  const tail = LOG.slice(-LOG_TAIL_LINES);
  const ended = 'Job team/pytorchjob/nan-run ended FAILED: Failed: PyTorchJob nan-run is failed because 1 Worker replica(s) failed.; pod nan-run-worker-0 exited 1 (Error)';
  expect(train.stderr).toContain(`${ended}\nLast ${LOG_TAIL_LINES} log lines of pod nan-run-worker-0:\n${tail.map((l) => `  ${l}\n`).join('')}`);
  expect(train.stderr).not.toContain(LOG[0]);

  const status = await ssl(['jobs', 'status', 'nan-run'], env);
  expect(status.code).toBe(0);
  expect(status.stdout).toBe(
    'k8s job team/pytorchjob/nan-run: FAILED (exit code 1) - Failed: PyTorchJob nan-run is failed because 1 Worker replica(s) failed.; pod nan-run-worker-0 exited 1 (Error)\n' +
      `Last ${LOG_TAIL_LINES} log lines of pod nan-run-worker-0:\n${tail.map((l) => `  ${l}\n`).join('')}`,
  );
  const json = JSON.parse((await ssl(['jobs', 'status', 'team/pytorchjob/nan-run', '--json'], env)).stdout);
  expect(json).toMatchObject({ state: 'FAILED', exitCode: 1, logTail: { source: 'pod nan-run-worker-0', lines: tail } });
  const waited = await ssl(['jobs', 'status', 'nan-run', '--wait'], env);
  expect(waited.code).toBe(1);
  expect(cluster.requests).toContain('get pods/log/nan-run-worker-0');
}, 90000);
