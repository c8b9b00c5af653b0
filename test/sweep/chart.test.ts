import { axisLabel, sweepChartSpec } from '../../src/sweep/report/chart.js';
import type { SweepSummary } from '../../src/sweep/report/summary.js';

describe('summary.png spec', () => {
  test('each trial is labelled <id> <config> over its matrix values, so a long config name cannot hide them', () => {
    const label = 'simclr_resnet18-cifar_1xb256-coslr-2e_fmnist optimizer.lr=0.05 seed=1';
    expect(axisLabel('2b624293c9', label)).toBe('2b624293c9 simclr_resnet18-cifar_1xb256-coslr-2e_fmnist\noptimizer.lr=0.05 seed=1');
    expect(axisLabel('abc', 'plain')).toBe('abc plain');

    const summary = {
      sweep: 'fm', verdict: 'ok', metrics: ['knn.top1'], checks: [],
      trials: [
        { id: 'a1', label: 'long_config_name optimizer.lr=0.05', status: 'done', metrics: { 'knn.top1': 70 }, facts: {} },
        { id: 'b2', label: 'long_config_name optimizer.lr=0.1', status: 'done', metrics: { 'knn.top1': 72 }, facts: {} },
        { id: 'c3', label: 'long_config_name optimizer.lr=0.2', status: 'failed', metrics: {}, facts: {} },
      ],
    } as unknown as SweepSummary;
    const spec = sweepChartSpec(summary) as any;
    expect(spec.data.values.map((v: { trial: string }) => v.trial)).toEqual(['a1 long_config_name\noptimizer.lr=0.05', 'b2 long_config_name\noptimizer.lr=0.1']);
    expect(spec.spec.layer[0].encoding.x.axis.labelExpr).toBe("split(datum.label, '\\n')");
  });
});
