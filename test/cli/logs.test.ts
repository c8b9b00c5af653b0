import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pngStats } from '../helpers/png-stats.js';
import { REPO_ROOT, runCli } from '../helpers/run-cli.js';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'logs', 'simclr-synthetic-3e.log.json');

describe('ssl logs plot / ssl logs time', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssl-logs-cli-'));
  // two work dirs as `ssl train` leaves them; the second run crashed mid-line
  mkdirSync(join(dir, 'simclr'));
  mkdirSync(join(dir, 'crashed'));
  copyFileSync(FIXTURE, join(dir, 'simclr', '20261206_200255.log.json'));
  const text = readFileSync(FIXTURE, 'utf8');
  const lines = text.trim().split('\n');
  writeFileSync(join(dir, 'crashed', '20261206_210000.log.json'), lines.slice(0, 8).join('\n') + '\n' + lines[8].slice(0, 25));

  test('two runs, loss and lr: a PNG with two panels, both runs coloured; the cut line is reported', async () => {
    const out = join(dir, 'curve.png');
    const r = runCli(['logs', 'plot', join(dir, 'simclr'), join(dir, 'crashed'), '--keys', 'loss', 'lr', '-o', out]);
    expect(r.stderr).toContain('skipped 1 line that is not complete JSON');
    expect(r.stderr).toContain('plotting the 6 complete records');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('plot curve of crashed, metric is lr (6 points)');
    expect(r.stdout).toContain(`save curve to: ${out}`);
    const s = await pngStats(readFileSync(out));
    expect(s.width).toBeGreaterThan(1000);
    expect(s.height).toBeGreaterThan(800); // two stacked panels
    expect(s.variance).toBeGreaterThan(100);
    expect(s.distinctColours).toBeGreaterThanOrEqual(2 + 2); // two series colours, plus ink and background
  });

  test('a key the log lacks: one line listing its keys, exit 2, no PNG', () => {
    const out = join(dir, 'none.png');
    const r = runCli(['logs', 'plot', join(dir, 'simclr'), '--keys', 'loss_cls', '-o', out]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/has no key 'loss_cls'; its keys: lr, data_time, loss, time$/)]);
    expect(existsSync(out)).toBe(false);
  });

  test('ssl logs time prints cal_train_time lines', () => {
    const r = runCli(['logs', 'time', join(dir, 'simclr'), '--json']);
    expect(r.status).toBe(0);
    const [t] = JSON.parse(r.stdout);
    const times = lines.slice(1).map((l) => JSON.parse(l)).filter((x) => x.mode === 'train');
    const epochMeans = [1, 2, 3].map((e) => {
      const ts = times.filter((x) => x.epoch === e).slice(1).map((x) => x.time);
      return ts.reduce((a: number, b: number) => a + b, 0) / ts.length;
    });
    expect(t.slowestTime).toBeCloseTo(Math.max(...epochMeans), 10);
    expect(t.fastestTime).toBeCloseTo(Math.min(...epochMeans), 10);
    const text = runCli(['logs', 'time', join(dir, 'simclr')]).stdout;
    expect(text).toMatch(/^-----Analyze train time of .*20261206_200255\.log\.json-----\nslowest epoch \d, average time is \d+\.\d{4}\n/);
    expect(text).toMatch(/average iter time: \d+\.\d{4} s\/iter/);
  });
});
