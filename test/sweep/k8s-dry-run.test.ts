/**
 * ssl sweep --dry-run on Kubernetes (issue 20): every manifest of every trial stage, labelled with the sweep
 * name and trial digest, valid against the Kubernetes schemas (and the PyTorchJob CRD) as the k8s launcher's are.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { runCli } from '../helpers/run-cli.js';
import { validateManifest } from '../k8s/helpers/schemas.js';
import { SIMCLR, SMOKE, sweepDir } from './helpers.js';

type Obj = Record<string, any>;

describe('ssl sweep --dry-run, launcher k8s', () => {
  test.each(['indexed-job', 'pytorchjob', 'trainjob'])('%s: one job per trial stage, labelled, schema-valid; nothing written', (kind) => {
    const { file, dir } = sweepDir({
      ...SMOKE,
      configs: [SIMCLR],
      launcher: 'k8s',
      launcher_options: { image: 'registry.example/ssl:1', 'k8s-kind': kind, namespace: 'ml', pvc: 'sweeps' },
      stages: [{ name: 'train', args: ['--seed', '0'], timeout: 900 }, { name: 'eval knn', timeout: 300 }],
    });
    const out = join(dir, 'out');
    const r = runCli(['sweep', file, '--dry-run', '--out', out], { timeoutMs: 120_000 });
    if (r.status !== 0) console.error(r.stderr);
    expect(r.status).toBe(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJSON() as Obj).filter(Boolean);
    for (const d of docs) expect(() => validateManifest(d)).not.toThrow();
    const trials = [...r.stdout.matchAll(/^# trial ([0-9a-f]{10}): /gm)].map((m) => m[1]!);
    expect(trials).toHaveLength(2);
    const trainKind = { pytorchjob: 'PyTorchJob', trainjob: 'TrainJob', 'indexed-job': 'Job' }[kind]!;
    for (const id of trials) {
      const mine = docs.filter((d) => d.metadata.labels['ssl/trial'] === id);
      for (const d of mine) expect(d.metadata.labels['ssl/sweep']).toBe('smoke');
      const train = mine.find((d) => d.kind === trainKind && d.metadata.labels['ssl/stage'] === 'train')!;
      const knn = mine.find((d) => d.kind === 'Job' && d.metadata.labels['ssl/stage'] === 'eval-knn')!;
      expect(train.metadata.name).toBe(`smoke-${id}`);
      // a TrainJob has no deadline field: the driver cancels it after the timeout
      if (kind !== 'trainjob') expect(kind === 'pytorchjob' ? train.spec.runPolicy.activeDeadlineSeconds : train.spec.activeDeadlineSeconds).toBe(900);
      expect(knn.spec.activeDeadlineSeconds).toBe(300);
      expect(knn.metadata.annotations['ssl/after']).toBe(`${trainKind}/smoke-${id}`);
      const c = knn.spec.template.spec.containers[0];
      expect(c.image).toBe('registry.example/ssl:1');
      expect(c.args.slice(0, 3)).toEqual(['eval', 'knn', expect.stringMatching(/^\/etc\/ssl-train\/.+\.yaml$/)]);
      // each trial has its own work dir on the shared PVC, the one its train pods write
      expect(c.args).toEqual(expect.arrayContaining(['--checkpoint', `/workspace/work-${id}/latest.ckpt`, '--json']));
      expect(JSON.stringify(train)).toContain(`/workspace/work-${id}`);
      expect(c.image).toBe('registry.example/ssl:1');
      expect(knn.spec).toMatchObject({ completionMode: 'Indexed', completions: 1 });
      expect(knn.spec.template.metadata.labels['ssl/job-name']).toBe(knn.metadata.name);
      expect(knn.spec.template.spec.volumes).toEqual(expect.arrayContaining([{ name: 'workdir', persistentVolumeClaim: { claimName: 'sweeps' } }]));
      expect(knn.spec.template.metadata.labels).toMatchObject({ 'ssl/sweep': 'smoke', 'ssl/trial': id });
    }
    expect(existsSync(out)).toBe(false);
  }, 180_000);
  test('launcher_options.s3: each trial trains under <s3>/<sweep>/<trial>, its kNN pod reads the newest checkpoint there; locally too', () => {
    const k8s = sweepDir({
      ...SMOKE,
      configs: [SIMCLR],
      launcher: 'k8s',
      launcher_options: { image: 'registry.example/ssl:1', 'k8s-kind': 'indexed-job', s3: 's3://sweeps/nightly/', 's3-endpoint': 'http://minio:9000' },
      stages: ['train', 'eval knn'],
    });
    const r = runCli(['sweep', k8s.file, '--dry-run'], { timeoutMs: 120_000 });
    expect(r.status).toBe(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJSON() as Obj).filter(Boolean);
    const trials = [...r.stdout.matchAll(/^# trial ([0-9a-f]{10}): /gm)].map((m) => m[1]!);
    expect(trials).toHaveLength(2);
    for (const id of trials) {
      const mine = docs.filter((d) => d.metadata.labels['ssl/trial'] === id && d.kind === 'Job');
      const train = mine.find((d) => d.metadata.labels['ssl/stage'] === 'train')!;
      const knn = mine.find((d) => d.metadata.labels['ssl/stage'] === 'eval-knn')!;
      expect(train.spec.template.spec.containers[0].args.join(' ')).toContain(`--s3 s3://sweeps/nightly/smoke/${id} `);
      expect(knn.spec.template.spec.containers[0].args).toEqual(expect.arrayContaining(['--checkpoint', `s3://sweeps/nightly/smoke/${id}/`, '--s3-endpoint', 'http://minio:9000']));
    }
    const local = sweepDir({ ...SMOKE, configs: [SIMCLR], launcher_options: { gpus: 1, s3: 's3://sweeps/nightly' } });
    const l = runCli(['sweep', local.file, '--dry-run'], { timeoutMs: 60_000 });
    expect(l.status).toBe(0);
    const prefixes = [...l.stdout.matchAll(/--s3 (\S+)/g)].map((m) => m[1]);
    const localTrials = [...l.stdout.matchAll(/^# trial ([0-9a-f]{10}): /gm)].map((m) => m[1]!);
    expect(prefixes).toEqual(localTrials.map((id) => `s3://sweeps/nightly/smoke/${id}`));
  }, 180_000);
});
