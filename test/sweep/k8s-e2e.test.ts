/**
 * ssl sweep on Kubernetes (issue 20), end to end on the fake cluster with the real agent, worker and CLI in its
 * pods and the S3-protocol test server: `--no-wait` submits each trial's train job (labelled with the sweep and
 * trial), `ssl sweep collect` waits for them, creates each trial's kNN job once its training succeeded, reads
 * the train metrics from the JSON log the pods uploaded to the trial's own S3 prefix and kNN from the eval pod's
 * log; a rerun submits nothing.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { parseAllDocuments } from 'yaml';
import { LocalS3 } from '../storage/s3-server.js';
import { FakeCluster } from '../k8s/fake/apiserver.js';
import { ROOT, realImage } from '../k8s/helpers/e2e.js';
import { validateManifest } from '../k8s/helpers/schemas.js';
import { SIMCLR, sweepDir } from './helpers.js';

type Obj = Record<string, any>;

function ssl(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(KUBECONFIG|KUBERNETES_SERVICE_HOST|AWS_.*)$/.test(k)));
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin/run.js'), ...args], { cwd: ROOT, env: { ...clean, ...env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

(realImage() ? describe : describe.skip)('ssl sweep, launcher k8s (needs npm run build)', () => {
  let tmp: string;
  let cluster: FakeCluster | undefined;
  const s3 = new LocalS3();
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'sweep-k8s-'));
    await s3.start();
    await s3.createBucket('sweeps');
  });
  afterAll(async () => {
    await cluster?.stop();
    await s3.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** The fake cluster (started once), a sweep of SIMCLR over `matrix` on it, and the driver's environment. */
  async function k8sSweep(name: string, matrix: Record<string, unknown[]>): Promise<{ file: string; out: string; env: Record<string, string> }> {
    if (!cluster) {
      cluster = await new FakeCluster({ pytorchJobCrd: false, imageRoot: { '/opt/ssl': ROOT }, workRoot: join(tmp, 'cluster'), startDelayMs: 100 }).start();
      cluster.addSecret('default', 's3-creds', { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
    }
    const { file, dir } = sweepDir({
      name,
      configs: [SIMCLR],
      matrix,
      stages: [{ name: 'train', args: ['--seed', '0', '--threads', '1'] }, 'eval knn'],
      launcher: 'k8s',
      launcher_options: { image: 'ssl:test', 's3-secret': 's3-creds', s3: 's3://sweeps/runs', 's3-endpoint': s3.endpoint },
      max_parallel: 2,
      timeout: 300,
      metrics: ['knn.top1', 'loss', 'wall_time'],
    });
    // the driver's own S3 access (the pods get theirs from the Secret)
    const env = { KUBECONFIG: cluster.writeKubeconfig(join(tmp, 'kubeconfig')), AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', SSL_SWEEP_POLL_MS: '200' };
    return { file, out: join(dir, 'out'), env };
  }

  test('--no-wait submits the train jobs; collect runs kNN per trial and reports; a rerun submits nothing', async () => {
    const { file, out, env } = await k8sSweep('k8s-smoke', { 'optimizer.lr': [0.05, 0.1] });

    const submitted = await ssl(['sweep', file, '--out', out, '--no-wait'], env);
    expect({ code: submitted.code, stderr: submitted.code === 0 ? '' : submitted.stderr }).toEqual({ code: 0, stderr: '' });
    expect(submitted.stderr).toContain('2 trial(s) submitted');
    const ids = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')).trials.map((t: Obj) => t.id as string);
    for (const id of ids) {
      const state = JSON.parse(readFileSync(join(out, 'trials', id, 'state.json'), 'utf8'));
      expect(state.stages.map((s: Obj) => [s.name, s.jobId])).toEqual([['train', `default/indexed-job/k8s-smoke-${id}`], ['eval knn', undefined]]);
      const objects = parseAllDocuments(readFileSync(join(out, 'trials', id, 'k8s.yaml'), 'utf8')).map((d) => d.toJSON() as Obj);
      for (const o of objects) expect(() => validateManifest(o)).not.toThrow();
      const knn = objects.find((o) => o.kind === 'Job' && o.metadata.labels['ssl/stage'] === 'eval-knn')!;
      expect(knn.spec.template.spec.containers[0].args).toEqual(expect.arrayContaining(['--checkpoint', `s3://sweeps/runs/k8s-smoke/${id}/`]));
    }
    // ssl sweep status asks the cluster for each submitted stage's job
    const status = await ssl(['sweep', 'status', out, '--json'], env);
    expect(status.code).toBe(0);
    for (const row of JSON.parse(status.stdout)) {
      expect(row.stages[0]).toMatchObject({ name: 'train', job: `default/indexed-job/k8s-smoke-${row.id}`, jobState: expect.stringMatching(/^(Created|Running|Succeeded)/) });
    }
    // a driver stopped after creating a trial's job but before recording it: the rerun finds the job and re-attaches
    rmSync(join(out, 'trials', ids[0], 'state.json'));
    const again = await ssl(['sweep', file, '--out', out, '--no-wait'], env);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`${ids[0]} submitted: train default/indexed-job/k8s-smoke-${ids[0]}`);
    // only the train jobs exist until collect sees them succeed
    expect(cluster!.list('jobs', 'default').map((j) => j.metadata.labels['ssl/stage']).sort()).toEqual(['train', 'train']);

    const collected = await ssl(['sweep', 'collect', out], env);
    expect({ code: collected.code, stderr: collected.code === 0 ? '' : collected.stderr.slice(-3000) }).toEqual({ code: 0, stderr: '' });
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.trials.map((t: Obj) => t.status)).toEqual(['done', 'done']);
    for (const t of summary.trials) {
      expect(t.metrics['knn.top1']).toBeGreaterThanOrEqual(0);
      expect(t.metrics['knn.top1']).toBeLessThanOrEqual(100);
      expect(Number.isFinite(t.metrics.loss)).toBe(true);
    }
    for (const id of ids) {
      const knnLog = readFileSync(join(out, 'trials', id, 'eval-knn.log'), 'utf8');
      expect(knnLog).toMatch(/"top1":/);
      // the newest checkpoint the trial's train job uploaded
      expect(knnLog).toMatch(new RegExp(`loaded \\d+ tensors of s3://sweeps/runs/k8s-smoke/${id}/(epoch|iter)_\\d+\\.ckpt`));
      expect(existsSync(join(out, 'trials', id, `work-${id}`))).toBe(true);
    }
    // the run facts come from the JSON log the train pods uploaded: each trial ran its own lr
    const trialRows = readFileSync(join(out, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Obj).filter((r) => r.stage === 'trial');
    expect(trialRows.map((r) => [r.label.match(/optimizer.lr=([\d.]+)/)?.[1], r.lr]).sort()).toEqual([['0.05', 0.05], ['0.1', 0.1]]);
    const jobs = cluster!.list('jobs', 'default');
    expect(jobs.map((j) => `${j.metadata.labels['ssl/trial']} ${j.metadata.labels['ssl/stage']}`).sort()).toEqual(ids.flatMap((id: string) => [`${id} eval-knn`, `${id} train`]).sort());
    // each trial trained under its own prefix
    const c = s3.client();
    const keys = ((await c.send(new ListObjectsV2Command({ Bucket: 'sweeps' }))).Contents ?? []).map((o) => o.Key!);
    c.destroy();
    for (const id of ids) expect(keys.filter((k) => k.startsWith(`runs/k8s-smoke/${id}/`) && k.endsWith('.ckpt')).length).toBeGreaterThan(0);

    const rerun = await ssl(['sweep', file, '--out', out], env);
    expect(rerun.code).toBe(0);
    expect(rerun.stderr.match(/finished earlier, skipped/g)).toHaveLength(2);
    expect(cluster!.list('jobs', 'default')).toHaveLength(4);
  }, 300_000);

  test('without --no-wait: runs to the end; a trial whose train pod fails: exit 3, its pod log kept, no kNN job; the other completes', async () => {
    const { file, out, env } = await k8sSweep('k8s-fail', { 'model.backbone.depth': [18, 19] });
    const r = await ssl(['sweep', file, '--out', out], env);
    expect({ code: r.code, stderr: r.code === 3 ? '' : r.stderr.slice(-3000) }).toEqual({ code: 3, stderr: '' });
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(s.trials.map((t: Obj) => t.status)).toEqual(['done', 'failed']);
    expect(s.trials[0].metrics['knn.top1']).toEqual(expect.any(Number));
    const bad = s.trials[1].id as string;
    expect(r.stderr).toMatch(new RegExp(`failed: trial ${bad} \\(.*model.backbone.depth=19\\): train \\(default/indexed-job/k8s-fail-${bad}\\) ended Failed: .*exited 2`));
    // the failed pod's log is kept in the trial folder, and its last lines are in the summary
    expect(readFileSync(join(out, 'trials', bad, 'train.log'), 'utf8')).toContain('invalid depth 19');
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toContain('invalid depth 19');
    // no kNN job for the failed trial
    const stages = cluster!.list('jobs', 'default').filter((j) => j.metadata.labels['ssl/sweep'] === 'k8s-fail').map((j) => `${j.metadata.labels['ssl/trial']} ${j.metadata.labels['ssl/stage']}`);
    expect(stages.sort()).toEqual([`${s.trials[0].id} eval-knn`, `${s.trials[0].id} train`, `${bad} train`].sort());
  }, 300_000);

  test('a sweep without launcher_options.s3: one line, exit 2, nothing submitted', async () => {
    const { file, dir } = sweepDir({ name: 'no-s3', configs: [SIMCLR], stages: ['train', 'eval knn'], launcher: 'k8s', launcher_options: { image: 'ssl:test', pvc: 'work' } });
    const r = await ssl(['sweep', file, '--out', join(dir, 'out')], {});
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining('launcher k8s: ssl sweep reads each trial\'s logs and checkpoint from S3; set launcher_options.s3')]);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  }, 60_000);
});
