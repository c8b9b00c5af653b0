/**
 * Two workers per pod on the PyTorchJob path: the operator's WORLD_SIZE (replicas x nprocPerNode) and RANK
 * (a node rank) reach the agent, which starts 2 workers per pod (world size 4) and trains to completion.
 * (Selecting one rank's lines from a shared pod log is unit-tested in units.test.ts: ranks > 0 print nothing here.)
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
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

(realImage() ? test : test.skip)('--nodes 2 with 2 processes per pod: world size 4 from the operator\'s variables, trains to completion', async () => {
  tmp = mkdtempSync(join(tmpdir(), 'k8s-e2e-mp-'));
  cluster = await new FakeCluster({ imageRoot: { '/opt/ssl': imageRoot() }, workRoot: join(tmp, 'cluster'), startDelayMs: 200 }).start();
  const kubeconfig = cluster.writeKubeconfig(join(tmp, 'kubeconfig'));
  const prepared = prepareTrainJob({
    config: e2eConfig(tmp),
    cfgOptions: ['data.train.data_source.num_samples=32'],
    workDir: join(tmp, 'work_dirs', 'tiny'),
    nodes: 2,
    procsPerNode: 2,
    port: await freePort(),
  });
  const out = new Capture();
  const started = Date.now();
  const code = await submitTraining(prepared, { launcher: 'k8s', kubeconfig, image: 'ssl:test', 'k8s-kind': 'pytorchjob', pvc: 'w', follow: true, wait: true, pollIntervalMs: 100 }, out as unknown as NodeJS.WritableStream);
  process.stderr.write(`k8s e2e 2 nodes x 2 processes: ${Date.now() - started} ms\n`);
  expect(code).toBe(0);
  const job = cluster.list('pytorchjobs', 'default')[0];
  expect(cluster.containers.get(`default/${job.metadata.name}-master-0`)!.env).toMatchObject({ WORLD_SIZE: '4', RANK: '0', PET_NPROC_PER_NODE: '2' });
  expect(out.text).toContain('[rank 0]');
  expect(out.text).not.toMatch(/^\[rank [1-9]/m);
  // 32 samples, 8 per process, 4 processes: one iteration
  expect(out.text).toMatch(/Epoch \[1\]\[1\/1\]/);
  expect(readdirSync(join(tmp, 'cluster', 'pvc', 'w', basename(prepared.job.workDir)))).toContain('epoch_1.ckpt');
}, 120000);
