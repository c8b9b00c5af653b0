import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LauncherError } from '../../src/errors.js';
import type { JobState, JobStatus } from '../launcher.js';
import { firstErrorLine, onPath, slurm } from './commands.js';
import { readJobRecord } from './records.js';
import { slurmFile, slurmFiles } from './script.js';

const PENDING = ['PENDING', 'CONFIGURING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESV_DEL_HOLD', 'SPECIAL_EXIT'];
const RUNNING = ['RUNNING', 'COMPLETING', 'SIGNALING', 'STAGE_OUT', 'RESIZING', 'SUSPENDED', 'STOPPED'];
const FAILED = ['FAILED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'OUT_OF_MEMORY', 'REVOKED'];

/** Slurm job state name (squeue/scontrol/sacct, e.g. `CANCELLED by 0`) -> the launcher-neutral state. */
export function mapSlurmState(slurmState: string): JobState {
  const s = slurmState.trim().split(/[\s+]/)[0]!.toUpperCase();
  if (s === 'COMPLETED') return 'SUCCEEDED';
  if (s === 'CANCELLED') return 'CANCELLED';
  if (PENDING.includes(s)) return 'PENDING';
  if (RUNNING.includes(s)) return 'RUNNING';
  if (FAILED.includes(s)) return 'FAILED';
  return 'UNKNOWN';
}

/** `ExitCode=2:0` (code:signal) -> a shell-style exit code (128 + signal when killed by one). */
export function parseExitCode(text: string | undefined): number | undefined {
  const m = /^(\d+):(\d+)$/.exec((text ?? '').trim());
  if (!m) return undefined;
  const [code, sig] = [Number(m[1]), Number(m[2])];
  return sig > 0 ? 128 + sig : code;
}

/** `key=value key=value ...` of `scontrol show job -o` into a map (values may hold spaces). */
export function parseScontrolLine(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /(?:^|\s)([A-Za-z][A-Za-z0-9_/:]*)=(.*?)(?=\s+[A-Za-z][A-Za-z0-9_/:]*=|$)/g;
  for (const m of line.trim().matchAll(re)) out[m[1]!] = m[2]!;
  return out;
}

function withExitCode(id: string, state: JobState, code: number | undefined, message: string): JobStatus {
  const st: JobStatus = { id, state, message };
  if (state === 'SUCCEEDED' || state === 'FAILED' || state === 'CANCELLED') {
    st.exitCode = state === 'SUCCEEDED' ? (code ?? 0) : code !== undefined && code !== 0 ? code : 1;
  }
  return st;
}

/** The job as slurmctld knows it (`scontrol show job -o`), or undefined once it has forgotten it. */
export async function scontrolJob(id: string): Promise<Record<string, string> | undefined> {
  const r = await slurm('scontrol', ['show', 'job', '-o', id]);
  if (r.exitCode !== 0) {
    if (/invalid job id/i.test(r.stderr + r.stdout)) return undefined;
    throw new LauncherError(`scontrol show job ${id} failed: ${firstErrorLine(r.stderr || r.stdout)}`);
  }
  const line = r.stdout.split('\n').find((l) => l.includes(`JobId=${id.split(/[_+]/)[0]}`)) ?? r.stdout;
  return parseScontrolLine(line);
}

/**
 * Status of Slurm job `id`: slurmctld first (`scontrol show job`, kept MinJobAge after the end), then
 * accounting (`sacct`, when the cluster has it), then the exit code the batch script recorded in the work dir.
 */
export async function slurmStatus(id: string, env: NodeJS.ProcessEnv = process.env): Promise<JobStatus> {
  const job = await scontrolJob(id);
  if (job?.JobState) {
    const reason = job.Reason && job.Reason !== 'None' ? ` (${job.Reason})` : '';
    const restarts = Number(job.Restarts ?? 0) > 0 ? `, restarts ${job.Restarts}` : '';
    return withExitCode(id, mapSlurmState(job.JobState), parseExitCode(job.ExitCode), `Slurm ${job.JobState}${reason}${restarts}`);
  }
  if (onPath('sacct', env)) {
    const r = await slurm('sacct', ['-n', '-P', '-X', '-j', id, '-o', 'State,ExitCode']);
    const line = r.exitCode === 0 ? r.stdout.split('\n').find((l) => l.includes('|')) : undefined;
    if (line) {
      const [state, code] = line.split('|');
      return withExitCode(id, mapSlurmState(state!), parseExitCode(code), `Slurm ${state} (sacct)`);
    }
  }
  const rec = readJobRecord(id, env);
  if (rec) {
    const file = join(rec.workDir, slurmFile(slurmFiles.exitCode, id));
    if (existsSync(file)) {
      const code = Number(readFileSync(file, 'utf8').trim());
      return withExitCode(id, code === 0 ? 'SUCCEEDED' : 'FAILED', code, `exit code recorded in ${file}`);
    }
    return { id, state: 'UNKNOWN', message: `Slurm no longer knows job ${id} and it left no exit code in ${rec.workDir}` };
  }
  throw new LauncherError(`Slurm job ${id} is unknown (scontrol, sacct, and no record from ssl train): check the id with squeue`);
}
