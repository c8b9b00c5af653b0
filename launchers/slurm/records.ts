import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What `ssl train --launcher slurm` remembers about a submitted job, so `ssl jobs` finds its files by id. */
export interface SlurmJobRecord {
  launcher: 'slurm';
  id: string;
  name: string;
  runId: string;
  workDir: string;
  script: string;
  submittedAt: string;
  nodes: number;
  tasksPerNode: number;
  /** Rank log pattern in the work dir (`%j` job id, `%t` rank). */
  rankLog: string;
}

/**
 * Index of submitted jobs: `$SSL_STATE_DIR/jobs`, else `$XDG_STATE_HOME/ssl/jobs`, else `~/.local/state/ssl/jobs`.
 * One `slurm-<id>.json` per job; a later job with the same id (a new cluster) overwrites it.
 */
export function jobIndexDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SSL_STATE_DIR) return join(env.SSL_STATE_DIR, 'jobs');
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'ssl', 'jobs');
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Records the job in its work dir (`slurm_job_id`, `slurm-<id>.json`) and in the index. */
export function writeJobRecord(rec: SlurmJobRecord, env: NodeJS.ProcessEnv = process.env): void {
  const json = `${JSON.stringify(rec, null, 2)}\n`;
  writeAtomic(join(rec.workDir, 'slurm_job_id'), `${rec.id}\n`);
  writeAtomic(join(rec.workDir, `slurm-${rec.id}.json`), json);
  const dir = jobIndexDir(env);
  try {
    mkdirSync(dir, { recursive: true });
    writeAtomic(join(dir, `slurm-${rec.id}.json`), json);
  } catch {
    // The work dir holds the record too; an unwritable home only costs the lookup by id.
  }
}

/** The indexed record of job `id`, or undefined. */
export function readJobRecord(id: string, env: NodeJS.ProcessEnv = process.env): SlurmJobRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(jobIndexDir(env), `slurm-${id}.json`), 'utf8')) as SlurmJobRecord;
  } catch {
    return undefined;
  }
}
