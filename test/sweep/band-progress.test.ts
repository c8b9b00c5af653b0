/** The seeds band of --update-baseline, and the progress output (terminal and CI). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { buildBaseline, checkTrials } from '../../src/sweep/baseline.js';
import { lastProgress, SweepProgress } from '../../src/sweep/progress.js';
import type { SweepSpec, Trial, TrialState } from '../../src/sweep/types.js';

const spec = { name: 's', metrics: ['knn.top1', 'loss'], tolerance: { 'knn.top1': { k: 2, better: 'higher' } } } as unknown as SweepSpec;
const state = (id: string, replicaOf: string, top1: number, loss = 1): TrialState => ({
  id, label: `cfg lr=0.1 seed=${id.slice(-1)}`, config: 'cfg', overrides: {}, replicaOf, status: 'done', stages: [], metrics: { 'knn.top1': top1, loss }, facts: {},
});

describe('seeds band', () => {
  test('--update-baseline keeps per trial the mean and sample std of its seed replicas; k std is the band', () => {
    const b = buildBaseline(spec, [state('t1', 't1', 40), state('t1-s1', 't1', 42), state('t1-s2', 't1', 44)], 'abc');
    expect(b.trials.t1!.metrics['knn.top1']).toEqual({ mean: 42, std: 2, n: 3, values: [40, 42, 44] });
    expect(b.trials.t1!.label).toBe('cfg lr=0.1');
    // a later normal run measures the first seed only: 38.5 is inside 42 - 2*2, 37.5 is not
    const [inside] = checkTrials(spec, [state('t1', 't1', 38.5)], b);
    expect(inside).toMatchObject({ metric: 'knn.top1', baseline: 42, limit: 38, ok: true, rule: '2 std of 3 runs' });
    const [outside] = checkTrials(spec, [state('t1', 't1', 37.5)], b);
    expect(outside).toMatchObject({ ok: false, delta: -4.5 });
    // loss has no tolerance: reported with its delta, not gated
    const loss = checkTrials(spec, [state('t1', 't1', 40, 2)], b)[1]!;
    expect(loss).toMatchObject({ metric: 'loss', delta: 1 });
    expect(loss.ok).toBeUndefined();
  });
});

class Capture extends Writable {
  text = '';
  isTTY: boolean;
  columns = 200;
  constructor(tty: boolean) {
    super();
    this.isTTY = tty;
  }
  override _write(chunk: Buffer, _e: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

describe('progress', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssl-progress-'));
  const log = join(dir, 'train.log');
  writeFileSync(log, '2026-12-06 20:00:00,000 - mmselfsup - INFO - Epoch [1][3/20]\tlr: 1.0e-01, eta: 0:01:02, time: 0.4, loss: 6.1\n');
  const trial = { id: 'abcdef0123', label: 'simclr lr=0.1' } as Trial;
  const done = { ...state('abcdef0123', 'abcdef0123', 50), label: 'simclr lr=0.1' };

  test('the stage, iteration and ETA from the log', () => {
    expect(lastProgress(log)).toBe('epoch 1 iter 3/20 eta 0:01:02');
    expect(lastProgress(join(dir, 'none.log'))).toBe('');
  });

  test('on a terminal: a live line per running trial under the counts, redrawn in place', () => {
    const out = new Capture(true);
    const p = new SweepProgress(out, 2);
    p.stage(trial, 'train', log);
    expect(out.text).toContain('  abcdef0123 train epoch 1 iter 3/20 eta 0:01:02  simclr lr=0.1\n  0 done, 0 failed, 1 running, 1 waiting\n');
    p.ended(done);
    expect(out.text).toContain('\x1b[2A\x1b[0J'); // the two live lines are replaced
    expect(out.text.endsWith('  1 done, 0 failed, 0 running, 1 waiting\n')).toBe(true);
    p.stop();
  });

  test('in CI: one timestamped line per state change, nothing redrawn', () => {
    const out = new Capture(false);
    const p = new SweepProgress(out, 2);
    p.stage(trial, 'train', log);
    p.ended(done);
    p.stop();
    const lines = out.text.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z abcdef0123 train started \(simclr lr=0\.1\)$/);
    expect(lines[1]).toMatch(/Z abcdef0123 done knn\.top1=50 loss=1 \[1\/2\]$/);
    expect(out.text).not.toContain('\x1b[');
  });
});
