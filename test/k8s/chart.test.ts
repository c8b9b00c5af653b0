/** charts/ssl-train renders the same objects as `ssl train --launcher k8s --dry-run` for the same inputs. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { createLauncher } from '../../launchers/k8s/index.js';
import { SAMPLE_CONFIG, sampleJob } from './helpers/job.js';
import { HelmLite, mergeValues } from './helpers/helm-lite.js';
import { validateManifest } from './helpers/schemas.js';

type Obj = Record<string, any>;
const CHART = join(process.cwd(), 'charts/ssl-train');
const dir = mkdtempSync(join(tmpdir(), 'k8s-chart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const chart = new HelmLite(CHART);
const defaults = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Obj;

/** Objects sorted by kind (Helm orders by its install order), ConfigMap data parsed (Helm's toYaml sorts keys). */
const normalise = (docs: Obj[]) =>
  [...docs].sort((a, b) => a.kind.localeCompare(b.kind)).map((d) => (d.kind === 'ConfigMap' ? { ...d, data: Object.fromEntries(Object.entries(d.data).map(([k, v]) => [k, parse(v as string)])) } : d));

interface Case {
  kind: 'pytorchjob' | 'indexed-job' | 'trainjob';
  nodes: number;
  gpusPerNode: number;
  procsPerNode: number;
  pvc?: string;
  s3?: { uri: string; endpoint?: string; secret?: string };
  extraArgs?: string[];
  env?: Record<string, string>;
}

const cases: Case[] = [
  { kind: 'pytorchjob', nodes: 2, gpusPerNode: 8, procsPerNode: 1, pvc: 'train-pvc' },
  { kind: 'pytorchjob', nodes: 1, gpusPerNode: 0, procsPerNode: 2, s3: { uri: 's3://bucket/runs/a', endpoint: 'http://minio:9000', secret: 's3-creds' }, extraArgs: ['--seed', '7'] },
  { kind: 'indexed-job', nodes: 3, gpusPerNode: 4, procsPerNode: 1, s3: { uri: 's3://bucket/runs/b', secret: 's3-creds' }, env: { NCCL_DEBUG: 'INFO' } },
  { kind: 'indexed-job', nodes: 2, gpusPerNode: 0, procsPerNode: 1 },
  { kind: 'trainjob', nodes: 2, gpusPerNode: 8, procsPerNode: 1, pvc: 'train-pvc', extraArgs: ['--seed', '7'] },
  { kind: 'trainjob', nodes: 1, gpusPerNode: 0, procsPerNode: 2, s3: { uri: 's3://bucket/runs/c', endpoint: 'http://minio:9000', secret: 's3-creds' }, env: { NCCL_DEBUG: 'INFO' } },
];

test.each(cases)('$kind, $nodes node(s), $gpusPerNode GPU(s): chart objects = CLI dry-run objects', async (c) => {
  const port = 29400 + c.nodes;
  const workerArgs = [...(c.extraArgs ?? []), ...(c.s3 ? ['--s3', c.s3.uri] : []), ...(c.s3?.endpoint ? ['--s3-endpoint', c.s3.endpoint] : []), '--port', String(port)];
  const job = sampleJob(dir, { nodes: c.nodes, gpusPerNode: c.gpusPerNode, procsPerNode: c.procsPerNode, port, workerArgs, env: c.env ?? {} });
  const flags: Obj = { image: 'registry.example/ssl:1.0', namespace: 'ml', 'k8s-kind': c.kind, 'job-name': 'simclr-run', ...(c.pvc ? { pvc: c.pvc } : {}), ...(c.s3?.secret ? { 's3-secret': c.s3.secret } : {}) };
  const cli = parseAllDocuments((await createLauncher(flags).dryRun(job, {})).render()).map((d) => d.toJS()).filter(Boolean);

  const nproc = c.gpusPerNode > 0 ? c.gpusPerNode : c.procsPerNode;
  const values = mergeValues(defaults, {
    jobName: 'simclr-run',
    namespace: 'ml',
    runId: job.runId,
    kind: c.kind,
    image: 'registry.example/ssl:1.0',
    nodes: c.nodes,
    gpusPerNode: c.gpusPerNode,
    nprocPerNode: String(nproc),
    port,
    configFile: 'simclr_tiny.yaml',
    config: { ...SAMPLE_CONFIG, work_dir: '/workspace/simclr_tiny' },
    workDir: '/workspace/simclr_tiny',
    pvc: c.pvc ?? '',
    s3: { uri: c.s3?.uri ?? '', endpoint: c.s3?.endpoint ?? '', secret: c.s3?.secret ?? '' },
    workerArgs: c.extraArgs ?? [],
    env: Object.entries(c.env ?? {}).map(([name, value]) => ({ name, value })),
    managedBy: 'ssl',
  });
  const rendered = chart.renderObjects(values);
  expect(normalise(rendered)).toEqual(normalise(cli));
  for (const d of rendered) expect(() => validateManifest(d)).not.toThrow();
});

test("the chart's defaults render valid objects; a construct the test renderer does not support fails loudly", () => {
  const docs = chart.renderObjects(mergeValues(defaults, { image: 'ssl:1' }));
  expect(docs.map((d) => d.kind)).toEqual(['ConfigMap', 'PyTorchJob']);
  for (const d of docs) expect(() => validateManifest(d)).not.toThrow();
  expect(docs[1].spec.pytorchReplicaSpecs.Worker.replicas).toBe(1);
  expect(chart.renderObjects(mergeValues(defaults, { image: 'ssl:1', kind: 'indexed-job' })).map((d) => d.kind)).toEqual(['ConfigMap', 'Job', 'Service']);
  const tj = chart.renderObjects(mergeValues(defaults, { image: 'ssl:1', kind: 'trainjob' }));
  expect(tj.map((d) => d.kind)).toEqual(['ConfigMap', 'TrainJob']);
  for (const d of tj) expect(() => validateManifest(d)).not.toThrow();
  expect(tj[1].spec.runtimeRef.name).toBe('torch-distributed');
  const bad = new HelmLite(CHART);
  expect(() => (bad as unknown as { evalPipeline: (t: string[], c: Obj) => unknown }).evalPipeline(['range', '.Values.x'], { Values: {} })).toThrow(/unsupported token "range"/);
});
