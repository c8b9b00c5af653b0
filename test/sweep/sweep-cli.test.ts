/**
 * ssl sweep end to end on the synthetic source (issue 20): the real train and eval knn commands, the local
 * launcher, 2 trials at once. Gating reruns the same folder (finished trials are not run again), so the
 * baseline cases cost no training.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runCli } from '../helpers/run-cli.js';
import { writeTree } from '../helpers/tmp-files.js';
import { SIMCLR, SMOKE, sweepDir } from './helpers.js';

const SWEEP_TIMEOUT = 300_000;
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const lines = (p: string) => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
const trialState = (out: string, id: string) => json(join(out, 'trials', id, 'state.json'));

describe('ssl sweep: 2 configs x 2 lr, train -> kNN, local launcher', () => {
  const { dir, file } = sweepDir(SMOKE);
  const out = join(dir, 'out');
  const stepSummary = join(dir, 'step-summary.md');
  let first: ReturnType<typeof runCli>;

  beforeAll(() => {
    writeFileSync(stepSummary, '# earlier step\n');
    first = runCli(['sweep', file, '--out', out], { env: { GITHUB_STEP_SUMMARY: stepSummary }, timeoutMs: SWEEP_TIMEOUT });
  }, SWEEP_TIMEOUT);

  test('every trial finishes; exit 0; the files a CI job shows', () => {
    if (first.status !== 0) console.error(first.stderr);
    expect(first.status).toBe(0);
    const summary = json(join(out, 'summary.json'));
    expect(summary.counts).toMatchObject({ trials: 4, done: 4, failed: 0, timeout: 0 });
    const ids: string[] = summary.trials.map((t: { id: string }) => t.id);
    expect(ids).toHaveLength(4);
    for (const id of ids) {
      for (const f of ['state.json', 'train.log', 'eval-knn.log', 'work/latest.ckpt']) expect(existsSync(join(out, 'trials', id, f))).toBe(true);
    }
    // results.jsonl: one line per finished stage and per trial, with the run facts
    const rows = lines(join(out, 'results.jsonl'));
    expect(rows.filter((r) => r.stage === 'trial')).toHaveLength(4);
    expect(rows.filter((r) => r.stage === 'train')).toHaveLength(4);
    expect(rows.filter((r) => r.stage === 'eval knn')).toHaveLength(4);
    for (const r of rows.filter((x) => x.stage === 'trial')) {
      expect(r.metrics['knn.top1']).toBeGreaterThanOrEqual(0);
      expect(r.metrics.loss).toBeGreaterThan(0);
      expect(r.metrics.images_per_s).toBeGreaterThan(0);
      expect(r.metrics.wall_time).toBeGreaterThan(0);
      expect(r).toMatchObject({ effective_batch: 8, ranks: 1, accumulation: 1, backend: expect.any(String), seed: 0, cpu_model: expect.any(String), git_revision: expect.any(String) });
      expect([0.05, 0.1]).toContain(r.lr);
      expect(r.label).toContain(`optimizer.lr=${r.lr}`);
    }
    // the kNN top-1 in the summary is the number ssl eval knn printed
    const knnOut = readFileSync(join(out, 'trials', ids[0]!, 'eval-knn.log'), 'utf8');
    expect(knnOut).toContain(`"top1":${summary.trials[0].metrics['knn.top1']}`);
    const md = readFileSync(join(out, 'summary.md'), 'utf8');
    for (const id of ids) expect(md).toMatch(new RegExp(`\\| \`${id}\` \\|.*\\| ✓ \\|`));
    expect(readFileSync(stepSummary, 'utf8')).toBe(`# earlier step\n${md}\n`);
    // summary.png, drawn by src/viz: a PNG wide enough for 4 bars per metric panel
    const png = readFileSync(join(out, 'summary.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.readUInt32BE(16)).toBeGreaterThan(400);
    const junit = readFileSync(join(out, 'junit.xml'), 'utf8');
    expect(junit.match(/<testcase /g)).toHaveLength(4);
    expect(junit).toContain('failures="0" errors="0"');
    const bigger = json(join(out, 'bench.json'));
    const smaller = json(join(out, 'bench-smaller.json'));
    expect(bigger.map((e: { name: string }) => e.name.split(' - ')[1]).sort()).toEqual(['images_per_s', 'images_per_s', 'images_per_s', 'images_per_s', 'knn.top1', 'knn.top1', 'knn.top1', 'knn.top1']);
    expect(smaller.map((e: { name: string }) => e.name.split(' - ')[1]).sort()).toEqual(['loss', 'loss', 'loss', 'loss', 'wall_time', 'wall_time', 'wall_time', 'wall_time']);
    for (const e of [...bigger, ...smaller]) expect(e).toEqual({ name: expect.any(String), unit: expect.any(String), value: expect.any(Number), extra: expect.stringMatching(/^trial [0-9a-f]{10}$/) });
    // not a terminal: one timestamped line per state change, and at most 2 trials ran at once
    expect(first.stderr).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z [0-9a-f]{10} train started \(/m);
    expect(first.stderr).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z [0-9a-f]{10} done .*knn\.top1=/m);
    const spans = ids.map((id) => trialState(out, id)).map((s) => [Date.parse(s.startedAt), Date.parse(s.endedAt)]);
    for (const [start] of spans) expect(spans.filter(([s, e]) => s <= start! && start! < e!).length).toBeLessThanOrEqual(2);
  });

  test('a rerun skips the finished trials; a baseline beaten within tolerance is 0, a missed one 1 naming trial and metric', () => {
    const before = lines(join(out, 'results.jsonl'));
    const ids = before.filter((r) => r.stage === 'trial').map((r) => r.trial as string);
    const started = ids.map((id) => trialState(out, id).startedAt);
    const rec = runCli(['sweep', file, '--out', out, '--update-baseline', '--baseline', join(dir, 'baseline.json')], { timeoutMs: 60_000 });
    expect(rec.status).toBe(0);
    expect(rec.stderr).toContain('finished earlier, skipped');
    expect(ids.map((id) => trialState(out, id).startedAt)).toEqual(started);
    const baseline = json(join(dir, 'baseline.json'));
    for (const r of before.filter((x) => x.stage === 'trial')) expect(baseline.trials[r.trial].metrics['knn.top1']).toMatchObject({ mean: r.metrics['knn.top1'], n: 1 });

    const withBaseline = (shift: number) => {
      const b = structuredClone(baseline);
      for (const t of Object.values(b.trials) as { metrics: Record<string, { mean: number }> }[]) t.metrics['knn.top1']!.mean += shift;
      const path = join(dir, `baseline${shift}.json`);
      writeFileSync(path, JSON.stringify(b));
      return runCli(['sweep', file, '--out', out, '--baseline', path, '--cfg-options', 'tolerance.knn.top1.abs=2'], { timeoutMs: 60_000 });
    };
    const within = withBaseline(1.5);
    expect(within.status).toBe(0);
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toContain('(Δ -1.50)');
    const missed = withBaseline(5);
    expect(missed.status).toBe(1);
    const worst = before.find((r) => r.stage === 'trial')!;
    expect(missed.stderr).toContain(`regression: trial ${worst.trial} (${worst.label}) knn.top1 = ${worst.metrics['knn.top1'].toFixed(3)}, baseline ${(worst.metrics['knn.top1'] + 5).toFixed(3)}`);
    const md = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(md).toContain('### Regressions');
    expect(md).toContain(`**knn.top1** = ${worst.metrics['knn.top1'].toFixed(3)}`);
    expect(readFileSync(join(out, 'junit.xml'), 'utf8')).toContain('failures="4"');
    expect(json(join(out, 'summary.json')).exit_code).toBe(1);
  }, SWEEP_TIMEOUT);

  test('SIGKILL of the driver mid-sweep loses no finished trial; the rerun runs only the rest and equals the clean run', async () => {
    // launcher none (one process less per trial): the digests do not depend on the launcher, so the clean run's ids match
    const { file: f2, dir: d2 } = sweepDir({ ...SMOKE, configs: [SIMCLR], max_parallel: 1, launcher: 'none', launcher_options: {} });
    const out2 = join(d2, 'out');
    const driver = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'run.js'), 'sweep', f2, '--out', out2], { stdio: 'ignore' });
    const ids = lines(join(out, 'results.jsonl')).filter((r) => r.stage === 'trial' && r.label.startsWith('simclr')).map((r) => r.trial as string);
    const doneIds = () => ids.filter((id) => existsSync(join(out2, 'trials', id, 'state.json')) && trialState(out2, id).status === 'done');
    const deadline = Date.now() + SWEEP_TIMEOUT;
    while (doneIds().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    driver.kill('SIGKILL');
    const finished = doneIds();
    expect(finished).toHaveLength(1);
    const kept = trialState(out2, finished[0]!);
    const rerun = runCli(['sweep', f2, '--out', out2], { timeoutMs: SWEEP_TIMEOUT });
    expect(rerun.status).toBe(0);
    expect(trialState(out2, finished[0]!)).toEqual(kept);
    expect(rerun.stderr).toContain(`${finished[0]} finished earlier, skipped`);
    expect(rerun.stderr.match(/ train started /g)).toHaveLength(1);
    const clean = new Map(lines(join(out, 'results.jsonl')).filter((r) => r.stage === 'trial').map((r) => [r.trial, r.metrics]));
    const resumed = lines(join(out2, 'results.jsonl')).filter((r) => r.stage === 'trial');
    expect(resumed.map((r) => r.trial).sort()).toEqual([...ids].sort());
    for (const r of resumed) {
      expect(r.metrics.loss).toBe(clean.get(r.trial).loss);
      expect(r.metrics['knn.top1']).toBe(clean.get(r.trial)['knn.top1']);
    }
  }, SWEEP_TIMEOUT);
});

describe('ssl sweep: failures', () => {
  test('a stage that exits non-zero: exit 3, the other trial complete, the log tail in summary.md and junit', () => {
    const { file, dir } = sweepDir({ ...SMOKE, configs: [SIMCLR], matrix: { 'model.backbone.depth': [18, 19] }, launcher: 'none', launcher_options: {} });
    const out = join(dir, 'out');
    const r = runCli(['sweep', file, '--out', out], { timeoutMs: SWEEP_TIMEOUT });
    expect(r.status).toBe(3);
    const s = json(join(out, 'summary.json'));
    expect(s.trials.map((t: { status: string }) => t.status)).toEqual(['done', 'failed']);
    expect(s.trials[0].metrics['knn.top1']).toEqual(expect.any(Number));
    expect(r.stderr).toMatch(new RegExp(`failed: trial ${s.trials[1].id} \\(simclr_resnet18-cifar_1xb8-2it_synthetic model.backbone.depth=19\\): train exited with code 2`));
    const md = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(md).toContain('### Failed trials');
    expect(md).toContain('invalid depth 19');
    expect(readFileSync(join(out, 'junit.xml'), 'utf8')).toMatch(/errors="1"[\s\S]*<error message="train exited with code 2" type="failed">[\s\S]*invalid depth 19/);
    // a rerun reports it failed without running it; --retry-failed runs it again
    const again = runCli(['sweep', file, '--out', out], { timeoutMs: 60_000 });
    expect(again.status).toBe(3);
    expect(again.stderr).toContain('--retry-failed reruns it');
    expect(again.stderr).not.toContain('train started');
  }, SWEEP_TIMEOUT);

  test('a stage past its timeout is stopped: exit 3, status timeout', () => {
    const { file, dir } = sweepDir({ ...SMOKE, configs: [SIMCLR], matrix: { 'optimizer.lr': [0.1] }, stages: [{ name: 'train', timeout: 0.5 }, 'eval knn'], launcher: 'none', launcher_options: {} });
    const r = runCli(['sweep', file, '--out', join(dir, 'out')], { timeoutMs: 60_000 });
    expect(r.status).toBe(3);
    expect(json(join(dir, 'out', 'summary.json')).trials[0]).toMatchObject({ status: 'timeout', error: 'train timed out after 0.5 s' });
  });

  test('bad input: one line, exit 2, nothing run', () => {
    const { file, dir } = sweepDir({ ...SMOKE, matrix: { 'optimizer.lrr': [0.1] } });
    const r = runCli(['sweep', file, '--out', join(dir, 'out')]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('Error: matrix key "optimizer.lrr" is not in the resolved config of simclr_resnet18-cifar_1xb8-2it_synthetic.yaml; did you mean optimizer.lr?');
    expect(existsSync(join(dir, 'out'))).toBe(false);
    const bad = writeTree({ 'bad.yaml': 'name: x\nconfigs: []\nstages: [train]\n' });
    const r2 = runCli(['sweep', join(bad, 'bad.yaml')]);
    expect(r2.status).toBe(2);
    expect(r2.stderr.trim().split('\n')).toHaveLength(1);
  });
});
