import { renderChart, type VegaLiteSpec } from '../../viz/index.js';
import { METRICS } from '../metrics.js';
import type { SweepSummary } from './summary.js';

/**
 * A trial's axis label on two lines, `<id> <config name>` and its matrix values, so that the long
 * MMSelfSup config names cannot push the values (what tells the trials apart) past the label limit.
 */
export function axisLabel(id: string, label: string): string {
  const space = label.indexOf(' ');
  return space < 0 ? `${id} ${label}` : `${id} ${label.slice(0, space)}\n${label.slice(space + 1)}`;
}

/**
 * summary.png: one panel per metric (own y scale), a bar per finished trial, the baseline as a black tick
 * on the bar where there is one, regressed bars red. Undefined when no trial finished.
 */
export function sweepChartSpec(s: SweepSummary): VegaLiteSpec | undefined {
  const values = s.trials.flatMap((t) =>
    s.metrics.flatMap((m) => {
      const v = t.metrics[m];
      if (t.status !== 'done' || typeof v !== 'number' || !Number.isFinite(v)) return [];
      const check = s.checks.find((c) => c.trial === t.id && c.metric === m);
      const unit = METRICS[m]?.unit;
      return [{ trial: axisLabel(t.id, t.label), metric: unit ? `${m} (${unit})` : m, value: v, baseline: check?.baseline ?? null, verdict: check?.ok === false ? 'regressed' : 'ok' }];
    }),
  );
  if (values.length === 0) return undefined;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `ssl sweep ${s.sweep}: ${s.verdict}`, subtitle: 'bars: this run (red: regressed); black ticks: the baseline' },
    data: { values },
    facet: { row: { field: 'metric', type: 'nominal', title: null, sort: null } },
    spec: {
      width: Math.max(240, 48 * new Set(values.map((v) => v.trial)).size),
      height: 140,
      layer: [
        {
          mark: { type: 'bar' },
          encoding: {
            x: { field: 'trial', type: 'nominal', sort: null, title: null, axis: { labelAngle: -30, labelLimit: 420, labelExpr: "split(datum.label, '\\n')" } },
            y: { field: 'value', type: 'quantitative', title: null },
            color: { field: 'verdict', type: 'nominal', title: null, scale: { domain: ['ok', 'regressed'], range: ['#4c78a8', '#e45756'] } },
          },
        },
        {
          transform: [{ filter: 'datum.baseline != null' }],
          mark: { type: 'tick', color: 'black', thickness: 2 },
          encoding: { x: { field: 'trial', type: 'nominal', sort: null }, y: { field: 'baseline', type: 'quantitative' } },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  } as unknown as VegaLiteSpec;
}

export async function renderSweepChart(s: SweepSummary): Promise<Buffer | undefined> {
  const spec = sweepChartSpec(s);
  return spec ? renderChart(spec) : undefined;
}
