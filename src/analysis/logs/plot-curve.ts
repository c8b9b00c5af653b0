import { SslError } from '../../errors.js';
import { lineChart, renderChart, writeFileAtomically, type Datum } from '../../viz/index.js';
import { curve, type XAxis } from './curves.js';
import { readJsonLog, type JsonLog } from './read-json-log.js';

export interface PlotCurveOptions {
  /** Logged values to plot (MMSelfSup's `--keys`, default `loss`); one panel per key, each with its own y scale. */
  keys: string[];
  /** One label per log, or MMSelfSup's one per (log, key) pair, log-major. */
  legend?: string[];
  title?: string;
  xAxis?: XAxis;
  out: string;
  log?: (m: string) => void;
}

export interface PlotCurveResult {
  out: string;
  logs: { path: string; records: number; skippedLines: number }[];
  series: { label: string; key: string; points: number }[];
}

function labels(logs: JsonLog[], keys: string[], legend: string[] | undefined): (i: number, j: number) => string {
  if (legend) {
    if (legend.length === logs.length) return (i) => legend[i];
    if (legend.length === logs.length * keys.length) return (i, j) => legend[i * keys.length + j];
    throw new SslError(`--legend has ${legend.length} labels: give one per log (${logs.length}) or one per log and key (${logs.length * keys.length})`, { code: 'LOG_LEGEND' });
  }
  // default: the run's name (its work dir); runs of the same name get their position appended
  const names = logs.map((l) => l.name);
  const unique = names.map((n, i) => (names.indexOf(n) !== names.lastIndexOf(n) ? `${n} (${i + 1})` : n));
  return (i) => unique[i];
}

/**
 * `ssl logs plot` (MMSelfSup's `analyze_logs.py plot_curve`): the curves of `keys` from each
 * JSON log, overlaid per key, rendered to one PNG. A log whose last line was cut by a crash is
 * plotted up to what is complete; the skipped lines are reported.
 */
export async function plotCurves(paths: string[], o: PlotCurveOptions): Promise<PlotCurveResult> {
  const say = o.log ?? (() => {});
  const xAxis = o.xAxis ?? 'iter';
  const logs = paths.map((p) => readJsonLog(p));
  const label = labels(logs, o.keys, o.legend);
  const values: Datum[] = [];
  const series: PlotCurveResult['series'] = [];
  let sparse = false;
  logs.forEach((log, i) => {
    if (log.skippedLines > 0) say(`${log.path}: skipped ${log.skippedLines} line${log.skippedLines > 1 ? 's' : ''} that ${log.skippedLines > 1 ? 'are' : 'is'} not complete JSON (a crashed run's last line?); plotting the ${log.records.length} complete records`);
    o.keys.forEach((key, j) => {
      const { points, mode } = curve(log, key, xAxis);
      if (mode === 'val') sparse = true;
      const run = label(i, j);
      series.push({ label: run, key, points: points.length });
      for (const p of points) values.push({ [xAxis]: p.x, value: p.y, run, key });
    });
  });
  const png = await renderChart(
    lineChart(values, { x: xAxis, y: 'value', color: 'run', row: o.keys.length > 1 ? 'key' : undefined }, {
      title: o.title,
      yTitle: o.keys.length > 1 ? null : o.keys[0],
      colorTitle: null,
      points: sparse,
      height: o.keys.length > 1 ? 220 : 320,
    }),
  );
  writeFileAtomically(o.out, png);
  return { out: o.out, logs: logs.map((l) => ({ path: l.path, records: l.records.length, skippedLines: l.skippedLines })), series };
}
