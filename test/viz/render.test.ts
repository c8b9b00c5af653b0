import { Resvg } from '@resvg/resvg-js';
import { barChart, lineChart, renderChart, renderSvg, scatterChart, type VegaLiteSpec } from '../../src/viz/index.js';
import { pngStats } from '../helpers/png-stats.js';

// a chart whose only ink is one line of text: dark pixels there can only come from a loaded font
const textOnly = { data: { values: [{}] }, width: 300, height: 40, mark: { type: 'text', fontSize: 24, color: 'black' }, encoding: { text: { value: 'Epoch 12 loss' } } } as VegaLiteSpec;

describe('renderChart', () => {
  test('text is drawn with the shipped font, system fonts not consulted', async () => {
    const png = await renderChart(textOnly, { scale: 1 });
    const s = await pngStats(png);
    expect(s.darkPixels).toBeGreaterThan(150);
    // control: the same SVG rasterised with no font at all has no ink, so the check above can fail
    const bare = new Resvg(await renderSvg(textOnly, { scale: 1 }), { font: { loadSystemFonts: false }, background: 'white' }).render().asPng();
    expect((await pngStats(bare)).darkPixels).toBe(0);
  });

  test('a line chart of two series: size scales with `scale`, axes and legend have text, both colours present', async () => {
    const values = [];
    for (let i = 0; i < 50; i++) values.push({ iter: i, loss: Math.exp(-i / 10), run: 'a' }, { iter: i, loss: 1 - i / 60, run: 'b' });
    const spec = lineChart(values, { x: 'iter', y: 'loss', color: 'run' }, { title: 'loss', width: 400, height: 200 });
    const [p1, p2] = [await renderChart(spec, { scale: 1 }), await renderChart(spec, { scale: 2 })];
    const [s1, s2] = [await pngStats(p1), await pngStats(p2)];
    expect(s1.width).toBeGreaterThan(400);
    expect(s1.height).toBeGreaterThan(200);
    expect(Math.abs(s2.width - 2 * s1.width)).toBeLessThanOrEqual(1);
    expect(s2.variance).toBeGreaterThan(100);
    // the title band above the plot holds only the title's text
    const title = await pngStats(p2, { left: 0, top: 0, width: s2.width, height: 30 });
    expect(title.darkPixels).toBeGreaterThan(50);
    const svg = await renderSvg(spec);
    expect(svg).toContain('#4c78a8'); // tableau10's first two colours: one per series
    expect(svg).toContain('#f58518');
  });

  test('a scatter of 20 classes keeps 20 distinct colours (category20)', async () => {
    const values = [];
    for (let c = 0; c < 20; c++) for (let j = 0; j < 10; j++) values.push({ x: c + j / 20, y: Math.sin(c * 7 + j), label: `class ${c}` });
    const png = await renderChart(scatterChart(values, { x: 'x', y: 'y', color: 'label' }), { scale: 1 });
    const svg = await renderSvg(scatterChart(values, { x: 'x', y: 'y', color: 'label' }));
    const fills = new Set([...svg.matchAll(/fill="(#[0-9a-f]{6})"/g)].map((m) => m[1]));
    expect(fills.size).toBeGreaterThanOrEqual(20);
    expect((await pngStats(png)).distinctColours).toBeGreaterThanOrEqual(20);
  });

  test('a grouped bar chart and a faceted line chart render', async () => {
    const bars = barChart([{ m: 'simclr', top1: 70, split: 'a' }, { m: 'byol', top1: 75, split: 'a' }, { m: 'simclr', top1: 60, split: 'b' }], { x: 'm', y: 'top1', color: 'split' });
    expect((await pngStats(await renderChart(bars))).variance).toBeGreaterThan(100);
    const rows = lineChart([{ i: 0, v: 1, k: 'loss' }, { i: 1, v: 0.5, k: 'loss' }, { i: 0, v: 0.1, k: 'lr' }, { i: 1, v: 0.01, k: 'lr' }], { x: 'i', y: 'v', row: 'k' });
    const s = await pngStats(await renderChart(rows, { scale: 1 }));
    expect(s.height).toBeGreaterThan(640); // two 320-high panels
  });

  test('a broken spec is one SslError line', async () => {
    await expect(renderChart({ mark: 'nonsense' } as unknown as VegaLiteSpec)).rejects.toThrow(/invalid chart spec/);
  });
});
