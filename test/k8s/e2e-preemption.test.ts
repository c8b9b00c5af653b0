/**
 * Issue 23, end to end on the fake cluster: a pod evicted mid-run (DisruptionTarget + SIGTERM, as a node drain or
 * pre-emption does) checkpoints, uploads the checkpoint to S3 (the real S3-protocol server of the storage tests)
 * and exits 75; the Indexed Job's podFailurePolicy ignores it and starts a new pod for the index, whose fresh
 * emptyDir has no checkpoint: it resumes from the newest one in S3 (--auto-resume, always on in pods) and
 * finishes; the run id is the same in both pods. The pods run the real agent and worker.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createLauncher } from '../../launchers/k8s/index.js';
import { prepareTrainJob } from '../../launchers/train-job.js';
import { resolveConfig } from '../../src/config/index.js';
import { LocalS3 } from '../storage/s3-server.js';
import { FakeCluster } from './fake/apiserver.js';
import { ROOT, freePort, realImage, tinyConfig } from './helpers/e2e.js';

type Obj = Record<string, any>;

/** The tiny SimCLR config, 4 iterations per epoch on one rank, 3 epochs, no interval checkpoints (only the pre-emption one). */
function config(dir: string): string {
  const cfg = resolveConfig(tinyConfig()!).cfg as Obj;
  cfg.data.samples_per_gpu = 4;
  cfg.data.train.data_source.num_samples = 16;
  cfg.data.train.data_source.image_size = 16;
  cfg.data.train.pipelines[0][0].size = 16;
  cfg.model.backbone.stem_channels = 4;
  cfg.model.backbone.base_channels = 4;
  cfg.model.neck.in_channels = 32;
  cfg.runner = { type: 'EpochBasedRunner', max_epochs: 3 };
  cfg.checkpoint_config = { interval: 1000, save_last: false };
  cfg.log_config = { interval: 1, hooks: [{ type: 'TextLoggerHook' }] };
  const path = join(dir, 'preempt_tiny.json');
  writeFileSync(path, JSON.stringify(cfg));
  return path;
}

async function until(cond: () => boolean, what: string, ms = 90_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

(realImage() ? describe : describe.skip)('pre-emption on Kubernetes (needs npm run build)', () => {
  let tmp: string;
  let cluster: FakeCluster | undefined;
  const s3 = new LocalS3();
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'k8s-preempt-'));
    await s3.start();
    await s3.createBucket('ckpts');
  });
  afterAll(async () => {
    await cluster?.stop();
    await s3.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('an evicted pod checkpoints to S3 and exits 75; its replacement resumes from S3 and the job succeeds', async () => {
    cluster = await new FakeCluster({ pytorchJobCrd: false, imageRoot: { '/opt/ssl': ROOT }, workRoot: join(tmp, 'cluster'), startDelayMs: 100 }).start();
    cluster.addSecret('default', 's3-creds', { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
    const kubeconfig = cluster.writeKubeconfig(join(tmp, 'kubeconfig'));
    const prepared = prepareTrainJob({ config: config(tmp), workDir: join(tmp, 'work_dirs', 'preempt'), nodes: 1, port: await freePort(), s3: 's3://ckpts/runs', s3Endpoint: s3.endpoint });
    const launcher = createLauncher({ kubeconfig, image: 'ssl:test', pollIntervalMs: 100 });
    // no PVC: the work dir is an emptyDir, so the second pod can only resume from S3
    const handle = await launcher.submit(await launcher.dryRun(prepared.job, { 'job-name': 'preempt', 's3-secret': 's3-creds' }));
    expect(handle.id).toBe('default/indexed-job/preempt');

    const pods = () => cluster!.list('pods', 'default').sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp) || a.metadata.resourceVersion - b.metadata.resourceVersion);
    await until(() => pods().length === 1 && Boolean(cluster!.containers.get(`default/${pods()[0].metadata.name}`)?.log.includes('Epoch [2][1/4]')), 'the first pod to train into epoch 2');
    const first = pods()[0].metadata.name as string;
    cluster.evict('default', first);

    const status = await launcher.wait(handle.id);
    const logs = pods().map((p) => cluster!.containers.get(`default/${p.metadata.name}`)!.log);
    expect({ state: status.state, tail: status.state === 'SUCCEEDED' ? '' : logs.map((l) => l.slice(-2000)) }).toEqual({ state: 'SUCCEEDED', tail: '' });

    // the evicted pod: checkpointed at an agreed iteration, exited 75, not counted against the job
    const [p1, p2] = pods();
    expect(pods()).toHaveLength(2);
    expect(p1.metadata.name).toBe(first);
    expect(p1.status.containerStatuses[0].state.terminated.exitCode).toBe(75);
    expect(p1.status.conditions).toContainEqual(expect.objectContaining({ type: 'DisruptionTarget', status: 'True' }));
    const stop = /stopped by SIGTERM at iteration (\d+); exit code 75/.exec(logs[0]);
    expect(stop).not.toBeNull();
    const iter = Number(stop![1]);
    const job = cluster.get('jobs', 'default', 'preempt')!;
    expect(job.status).toMatchObject({ succeeded: 1, failed: 0 });
    expect(p2.metadata.annotations['batch.kubernetes.io/job-completion-index']).toBe('0');

    // S3 holds the pre-emption checkpoint; the replacement found no local one and resumed from it
    const c = s3.client();
    const keys = ((await c.send(new ListObjectsV2Command({ Bucket: 'ckpts' }))).Contents ?? []).map((o) => o.Key!);
    c.destroy();
    const ckptKey = keys.find((k) => k.endsWith(`/iter_${iter}.ckpt`) || k === `runs/iter_${iter}.ckpt`);
    expect({ keys, ckptKey }).toEqual({ keys, ckptKey: expect.any(String) });
    expect(logs[1]).toContain(`auto-resume: no local checkpoint, resuming from s3://ckpts/${ckptKey}`);
    expect(logs[1]).toMatch(new RegExp(`resumed epoch \\d+, iter ${iter}\\b`));
    expect(logs[1]).toMatch(/Epoch \[3\]\[4\/4\]/);
    // both pods belong to one run
    const env = (p: Obj) => cluster!.containers.get(`default/${p.metadata.name}`)!.env;
    expect(env(p2).SSL_RUN_ID).toBe(prepared.job.runId);
    expect(env(p1).SSL_RUN_ID).toBe(env(p2).SSL_RUN_ID);
  }, 240_000);
});
