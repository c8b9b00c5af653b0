import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pngStats } from '../helpers/png-stats.js';
import { runCli } from '../helpers/run-cli.js';

const CONFIG = 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml';

describe('ssl viz tsne', () => {
  const out = mkdtempSync(join(tmpdir(), 'ssl-tsne-'));

  test('one PNG and one JSON per stage: points in [0, 1], coloured by class with a legend', async () => {
    const r = runCli(['viz', 'tsne', CONFIG, '--layer-ind', '3,4', '--pool-type', 'adaptive', '--max-num-class', '6', '--num-samples', '90',
      '--perplexity', '10', '--n-iter', '300', '--backend', 'cpu', '--cfg-options', 'data.train.data_source.num_samples=200', '-o', out], { timeoutMs: 120_000 });
    expect(r.stderr).toContain('Apply t-SNE to visualize 90 samples.');
    expect(r.status).toBe(0);
    for (const [key, dim] of [['feat4', 32 * 9], ['feat5', 64 * 4]] as const) {
      const j = JSON.parse(readFileSync(join(out, `${key}.json`), 'utf8'));
      expect(j).toMatchObject({ key, dim, pool_type: 'adaptive', method: 'tsne', perplexity: 10, n_iter: 300 });
      expect(j.points).toHaveLength(90);
      expect(j.labels).toHaveLength(90);
      expect(Math.max(...j.labels)).toBeLessThan(6); // --max-num-class
      const classes = new Set(j.labels).size;
      expect(j.classes).toHaveLength(classes);
      for (const [x, y] of j.points) for (const v of [x, y]) expect(v >= 0 && v <= 1).toBe(true);
      const s = await pngStats(readFileSync(join(out, `${key}.png`)));
      expect(s.width).toBeGreaterThan(1120); // 560-unit plot at scale 2, plus axes and legend
      expect(s.height).toBeGreaterThan(1120);
      expect(s.variance).toBeGreaterThan(50);
      expect(s.distinctColours).toBeGreaterThanOrEqual(classes);
      expect(s.darkPixels).toBeGreaterThan(500); // title, axes, legend text
    }
  });

  test("MMSelfSup's specified pooling on a CIFAR-sized map: one line saying to use adaptive, exit 2", () => {
    const r = runCli(['viz', 'tsne', CONFIG, '--layer-ind', '4', '--num-samples', '8', '--backend', 'cpu', '-o', join(out, 'x')]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^Error: stage 4's feature map is 4x4, smaller than the 6x6 window .* use --pool-type adaptive$/);
    expect(existsSync(join(out, 'x', 'feat5.png'))).toBe(false);
  });

  test('bad --layer-ind: exit 2', () => {
    const r = runCli(['viz', 'tsne', CONFIG, '--layer-ind', '1,7']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--layer-ind takes stages 0-4 separated by commas (e.g. 0,1,2,3,4), got '1,7'");
  });
});
