import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import type { SweepPlan } from './driver.js';
import { readTrialState, sweepFiles } from './files.js';

export interface TrialStatusRow {
  id: string;
  label: string;
  status: string;
  stages: { name: string; status: string; job?: string; jobState?: string }[];
  metrics: Record<string, number>;
  error?: string;
}

export function readPlan(dir: string): SweepPlan {
  const p = join(resolve(dir), sweepFiles.plan);
  if (!existsSync(p)) throw new ConfigError(`${dir} is not a sweep folder (no ${sweepFiles.plan}); give the --out folder of ssl sweep`, { code: 'SWEEP_DIR' });
  return JSON.parse(readFileSync(p, 'utf8')) as SweepPlan;
}

/** Every trial of the sweep with its state; stages submitted to Slurm or Kubernetes with their job's current state. */
export async function sweepStatus(dir: string): Promise<TrialStatusRow[]> {
  const plan = readPlan(dir);
  const out = resolve(dir);
  const rows: TrialStatusRow[] = [];
  for (const t of plan.trials) {
    const s = readTrialState(out, t.id);
    const row: TrialStatusRow = { id: t.id, label: t.label, status: s?.status ?? 'waiting', stages: [], metrics: s?.metrics ?? {}, error: s?.error };
    for (const st of s?.stages ?? []) {
      const r: TrialStatusRow['stages'][number] = { name: st.name, status: st.status, job: st.jobId };
      if (st.jobId && (st.status === 'pending' || st.status === 'running') && (plan.launcher === 'slurm' || plan.launcher === 'k8s')) {
        const { getLauncher } = await import('../../launchers/index.js');
        const js = await (await getLauncher(plan.launcher)).status(st.jobId).catch((e: Error) => ({ state: `unknown (${e.message})`, message: undefined }));
        r.jobState = js.message ?? js.state;
      }
      row.stages.push(r);
    }
    rows.push(row);
  }
  return rows;
}

export function renderStatus(rows: TrialStatusRow[]): string {
  const count = (st: string) => rows.filter((r) => r.status === st).length;
  const lines = rows.map((r) => {
    const stages = r.stages.map((s) => `${s.name}: ${s.jobState ?? s.status}${s.job ? ` (job ${s.job})` : ''}`).join(', ');
    const metrics = Object.entries(r.metrics).map(([k, v]) => `${k}=${+v.toFixed(3)}`).join(' ');
    return `${r.id}  ${r.status.padEnd(7)}  ${r.label}${stages ? `  [${stages}]` : ''}${metrics ? `  ${metrics}` : ''}${r.error ? `  ${r.error}` : ''}`;
  });
  lines.push(`${rows.length} trials: ${count('done')} done, ${count('failed') + count('timeout')} failed, ${count('running')} running, ${count('waiting') + count('pending')} waiting`);
  return lines.join('\n');
}
