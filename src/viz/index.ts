/** Every chart `ssl` writes: Vega-Lite specs (data) rendered to PNG with a shipped font. */
export { renderChart, renderSvg, type RenderOptions, type VegaLiteSpec } from './render.js';
export { barChart, lineChart, scatterChart, type ChartOptions, type Datum, type Fields } from './charts.js';
export { CHART_FONT_FAMILY, chartFontFiles } from './font.js';
export { writeFileAtomically } from './write-png.js';
