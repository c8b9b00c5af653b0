import type { VegaLiteSpec } from './render.js';

/** One row of chart data: field name → value. */
export type Datum = Record<string, string | number | boolean | null>;

export interface ChartOptions {
  title?: string;
  /** Axis and legend titles (default: the field's name; `null`: none). */
  xTitle?: string | null;
  yTitle?: string | null;
  colorTitle?: string | null;
  /** Plot area size in Vega units (the PNG is `scale` times larger, plus axes and legend). */
  width?: number;
  height?: number;
  /** A log-scale y axis (learning rates). */
  logY?: boolean;
  /** Line charts: a marker on every point (sparse series such as per-epoch evaluations). */
  points?: boolean;
  /** The colour field's values in legend order (default: order of appearance). */
  colorDomain?: string[];
}

export interface Fields {
  x: string;
  y: string;
  /** Series / class field: one colour per distinct value, with a legend. */
  color?: string;
  /** One panel per distinct value of this field, stacked, each with its own y scale. */
  row?: string;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** tableau10 repeats colours past 10 series; category20 keeps up to 20 apart (MMSelfSup's t-SNE uses up to 20 classes). */
function colorScheme(values: Datum[], field: string | undefined): string {
  if (!field) return 'tableau10';
  return new Set(values.map((v) => v[field])).size > 10 ? 'category20' : 'tableau10';
}

type Json = Record<string, unknown>;

function build(mark: Json, values: Datum[], f: Fields, o: ChartOptions, xType: 'quantitative' | 'nominal', tweak: (enc: Record<string, Json>) => void = () => {}): VegaLiteSpec {
  const encoding: Record<string, Json> = {
    x: { field: f.x, type: xType, title: o.xTitle === undefined ? f.x : o.xTitle, ...(xType === 'quantitative' ? { scale: { zero: false, nice: false } } : { sort: null }) },
    y: { field: f.y, type: 'quantitative', title: o.yTitle === undefined ? f.y : o.yTitle, scale: o.logY ? { type: 'log' } : { zero: false } },
  };
  if (f.color) encoding.color = { field: f.color, type: 'nominal', title: o.colorTitle === undefined ? f.color : o.colorTitle, sort: null, scale: { scheme: colorScheme(values, f.color), ...(o.colorDomain ? { domain: o.colorDomain } : {}) } };
  tweak(encoding);
  const single = { mark, encoding, width: o.width ?? 560, height: o.height ?? 320 };
  const body = f.row
    ? { facet: { row: { field: f.row, type: 'nominal', title: null, sort: null } }, spec: single, resolve: { scale: { y: 'independent' } } }
    : single;
  return { $schema: SCHEMA, ...(o.title ? { title: o.title } : {}), data: { values }, ...body } as unknown as VegaLiteSpec;
}

/** Lines of `y` over `x`, one per `color` value (training curves). */
export function lineChart(values: Datum[], f: Fields, o: ChartOptions = {}): VegaLiteSpec {
  return build({ type: 'line', strokeWidth: 1.5, ...(o.points ? { point: true } : {}) }, values, f, o, 'quantitative');
}

/** Points at (`x`, `y`) coloured by `color` (t-SNE embeddings). */
export function scatterChart(values: Datum[], f: Fields, o: ChartOptions & { pointSize?: number } = {}): VegaLiteSpec {
  return build({ type: 'point', filled: true, size: o.pointSize ?? 12, opacity: 0.8 }, values, f, o, 'quantitative');
}

/** Bars of `y` per category `x` (in data order), side by side per `color` value if given (sweep summaries). */
export function barChart(values: Datum[], f: Fields, o: ChartOptions = {}): VegaLiteSpec {
  return build({ type: 'bar' }, values, f, o, 'nominal', (enc) => {
    enc.y.scale = o.logY ? { type: 'log' } : { zero: true };
    if (f.color) enc.xOffset = { field: f.color, sort: null };
  });
}
