import type { SweepSummary } from './summary.js';
import { fmt } from './summary.js';

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

/** JUnit XML: each trial a test case; a regression a <failure>, a failed or timed-out trial an <error>. */
export function renderJunit(s: SweepSummary): string {
  const cases = s.trials.map((t) => {
    const secs = typeof t.metrics.wall_time === 'number' ? t.metrics.wall_time.toFixed(3) : '0';
    const head = `    <testcase classname="ssl-sweep.${esc(s.sweep)}" name="${esc(`${t.id} ${t.label}`)}" time="${secs}">`;
    const body: string[] = [];
    const regs = s.regressions.filter((r) => r.trial === t.id);
    if (regs.length > 0) {
      const msg = regs.map((r) => `${r.metric} = ${fmt(r.value, 3)}, baseline ${fmt(r.baseline, 3)}, limit ${fmt(r.limit, 3)} (${r.rule})`).join('; ');
      body.push(`      <failure message="${esc(`regression: ${msg}`)}" type="regression">${esc(msg)}</failure>`);
    }
    if (t.status === 'failed' || t.status === 'timeout') {
      body.push(`      <error message="${esc(t.error ?? t.status)}" type="${t.status}">${esc(t.log_tail ?? '')}</error>`);
    } else if (t.status !== 'done') {
      body.push(`      <skipped message="${esc(`trial ${t.status}`)}"/>`);
    }
    const metrics = Object.entries(t.metrics).map(([k, v]) => `${k}=${fmt(v, 4)}`).join(' ');
    body.push(`      <system-out>${esc(metrics)}</system-out>`);
    return [head, ...body, '    </testcase>'].join('\n');
  });
  const failures = new Set(s.regressions.map((r) => r.trial)).size;
  const errors = s.counts.failed + s.counts.timeout;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="ssl sweep" tests="${s.trials.length}" failures="${failures}" errors="${errors}">`,
    `  <testsuite name="${esc(s.sweep)}" tests="${s.trials.length}" failures="${failures}" errors="${errors}" skipped="${s.counts.pending}" timestamp="${s.created}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
