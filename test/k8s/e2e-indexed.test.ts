/** End to end on a plain cluster: the Indexed Job + headless Service path trains `--nodes 2` to completion. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createLauncher } from '../../launchers/k8s/index.js';
import { submitTraining } from '../../launchers/run-training.js';
import { prepareTrainJob } from '../../launchers/train-job.js';
import { FakeCluster } from './fake/apiserver.js';
import { Capture, e2eConfig, freePort, imageRoot, realImage } from './helpers/e2e.js';

let tmp: string;
let cluster: FakeCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

test(`--nodes 2 Indexed Job trains to completion; node rank from the completion index, master <job>-0.<service> (${realImage() ? 'real agent/worker' : 'stand-in image'})`, async () => {
  tmp = mkdtempSync(join(tmpdir(), 'k8s-e2e-indexed-'));
  cluster = await new FakeCluster({ imageRoot: { '/opt/ssl': imageRoot() }, workRoot: join(tmp, 'cluster'), startDelayMs: 300 }).start();
  const kubeconfig = cluster.writeKubeconfig(join(tmp, 'kubeconfig'), 'research');
  const prepared = prepareTrainJob({ config: e2eConfig(tmp), workDir: join(tmp, 'work_dirs', 'tiny'), nodes: 2, port: await freePort() });
  const out = new Capture();
  const started = Date.now();
  const code = await submitTraining(
    prepared,
    { launcher: 'k8s', kubeconfig, image: 'ssl:test', 'k8s-kind': 'indexed-job', pvc: 'shared', 'job-name': 'tiny-indexed', follow: true, wait: true, pollIntervalMs: 100 },
    out as unknown as NodeJS.WritableStream,
  );
  process.stderr.write(`k8s e2e indexed-job: ${Date.now() - started} ms\n`);
  expect({ code, out: code === 0 ? '' : out.text.slice(-4000) }).toEqual({ code: 0, out: '' });
  expect(out.text).toContain('[rank 0]');
  const status = await createLauncher({ kubeconfig }).status('research/indexed-job/tiny-indexed');
  expect(status).toMatchObject({ state: 'SUCCEEDED', exitCode: 0, message: 'Succeeded' });
  const envs = [...cluster.containers.values()].map((c) => c.env).sort((a, b) => a.JOB_COMPLETION_INDEX.localeCompare(b.JOB_COMPLETION_INDEX));
  expect(envs.map((e) => [e.JOB_COMPLETION_INDEX, e.PET_NODE_RANK, e.PET_NNODES, e.MASTER_ADDR])).toEqual([
    ['0', '0', '2', '127.0.0.1'],
    ['1', '1', '2', '127.0.0.1'],
  ]);
  const files = readdirSync(join(tmp, 'cluster', 'pvc', 'shared', basename(prepared.job.workDir)));
  if (realImage()) {
    expect(files).toContain('epoch_1.ckpt');
    expect(out.text).toMatch(/Epoch \[1\]\[1\/1\]/);
  } else expect(files.sort()).toEqual(['node-0.done', 'node-1.done']);
}, 120000);
