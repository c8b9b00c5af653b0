import { Resvg } from '@resvg/resvg-js';
import { parse as parseVega, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { SslError } from '../errors.js';
import { CHART_FONT_FAMILY, chartFontFiles } from './font.js';

export type VegaLiteSpec = TopLevelSpec;

export interface RenderOptions {
  /** Pixels per Vega unit (2 = sharp on high-DPI screens and in READMEs). */
  scale?: number;
  /** Background colour behind the chart. */
  background?: string;
}

/** Vega-Lite config every chart gets under its own: the shipped font everywhere, a white background. */
function withDefaults(spec: VegaLiteSpec, background: string): VegaLiteSpec {
  const config = (spec as { config?: Record<string, unknown> }).config ?? {};
  return { ...spec, background, config: { font: CHART_FONT_FAMILY, ...config } } as VegaLiteSpec;
}

/** The chart as an SVG document (Vega-Lite → Vega → headless Vega view; no DOM, no canvas). */
export async function renderSvg(spec: VegaLiteSpec, o: RenderOptions = {}): Promise<string> {
  let view: View;
  try {
    const vg = compile(withDefaults(spec, o.background ?? 'white')).spec;
    view = new View(parseVega(vg), { renderer: 'none', logLevel: 0 });
  } catch (e) {
    throw new SslError(`invalid chart spec: ${(e as Error).message}`, { code: 'CHART_SPEC', cause: e });
  }
  try {
    return await view.toSVG(o.scale ?? 2);
  } finally {
    view.finalize();
  }
}

/**
 * Renders a Vega-Lite spec to PNG bytes. SVG → PNG goes through resvg with DejaVu Sans loaded from
 * the package (system fonts are not consulted), so text looks the same on every machine.
 *
 * @example
 * const png = await renderChart(lineChart({ values, x: 'iter', y: 'loss', color: 'run' }));
 */
export async function renderChart(spec: VegaLiteSpec, o: RenderOptions = {}): Promise<Buffer> {
  const svg = await renderSvg(spec, o);
  const resvg = new Resvg(svg, {
    font: { fontFiles: chartFontFiles(), loadSystemFonts: false, defaultFontFamily: CHART_FONT_FAMILY },
    background: o.background ?? 'white',
  });
  return resvg.render().asPng();
}
