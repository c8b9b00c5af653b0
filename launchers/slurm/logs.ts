import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LauncherError } from '../../src/errors.js';
import { TERMINAL_STATES, type LogOptions } from '../launcher.js';
import { readJobRecord } from './records.js';
import { scontrolJob, slurmStatus } from './status.js';
import { slurmFile, slurmFiles } from './script.js';

/** The work dir of job `id`: from the record `ssl train` wrote, else from slurmctld's StdOut path. */
export async function jobWorkDir(id: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const rec = readJobRecord(id, env);
  if (rec) return rec.workDir;
  const job = await scontrolJob(id);
  if (job?.StdOut) return dirname(job.StdOut);
  throw new LauncherError(`no work dir known for Slurm job ${id}: it was not submitted by ssl train here, and Slurm no longer knows it`);
}

/** Copies bytes [from, end) of `path` to `out`; returns the new offset. */
function copyFrom(path: string, from: number, out: NodeJS.WritableStream): number {
  if (!existsSync(path)) return from;
  const size = statSync(path).size;
  if (size <= from) return size < from ? 0 : from; // truncated: start again
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(size - from);
    const n = readSync(fd, buf, 0, buf.length, from);
    out.write(buf.subarray(0, n));
    return from + n;
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes rank `rank`'s log (`slurm-<id>-rank<N>.log` in the work dir; srun writes one per task) to `out`.
 * When that file does not exist (the job failed before srun), the batch script's output is shown instead.
 * With `follow`, keeps copying new output until the job has ended.
 */
export async function slurmLogs(id: string, out: NodeJS.WritableStream, options: LogOptions & { pollMs?: number } = {}, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const rank = options.rank ?? 0;
  const wd = await jobWorkDir(id, env);
  const rankLog = join(wd, slurmFile(slurmFiles.rankLog, id, rank));
  const batchFiles = [slurmFiles.batchOut, slurmFiles.batchErr].map((p) => join(wd, slurmFile(p, id)));
  if (!options.follow) {
    if (existsSync(rankLog)) copyFrom(rankLog, 0, out);
    else if (batchFiles.some((f) => existsSync(f))) {
      out.write(`(no log of rank ${rank} in ${wd}; the batch script's output follows)\n`);
      for (const f of batchFiles) copyFrom(f, 0, out);
    } else throw new LauncherError(`no log of rank ${rank} for Slurm job ${id} in ${wd} yet (pending, or no such rank)`);
    return;
  }
  let offset = 0;
  for (;;) {
    const st = await slurmStatus(id, env);
    offset = copyFrom(rankLog, offset, out);
    if (TERMINAL_STATES.includes(st.state) || st.state === 'UNKNOWN') {
      await sleep(options.pollMs ?? 500); // the last lines may land after the state changes
      copyFrom(rankLog, offset, out);
      if (!existsSync(rankLog)) for (const f of batchFiles) copyFrom(f, 0, out);
      return;
    }
    await sleep(options.pollMs ?? 500);
  }
}
