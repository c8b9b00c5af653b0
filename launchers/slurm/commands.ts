import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { LauncherError } from '../../src/errors.js';

/** True when `name` is an executable file in one of PATH's directories. */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** Throws the one-line "not on PATH" LauncherError unless `cmd` is on PATH. */
export function requireCommand(cmd: string, env: NodeJS.ProcessEnv = process.env): void {
  if (!onPath(cmd, env)) {
    throw new LauncherError(`${cmd} is not on PATH: run ssl on a Slurm login node, add Slurm's bin directory to PATH, or install one here with \`bash tools/slurm-up.sh\``, { code: 'SLURM_MISSING' });
  }
}

export interface SlurmRun {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Runs one Slurm client command (sbatch, squeue, scontrol, sinfo, sacct, scancel) through execa,
 * without a shell. A missing command is a LauncherError saying how to get Slurm; a non-zero exit is
 * returned (callers decide), unless `check` is set, when it becomes a LauncherError with Slurm's message.
 */
export async function slurm(cmd: string, args: string[], options: { check?: boolean; timeoutMs?: number; cwd?: string } = {}): Promise<SlurmRun> {
  requireCommand(cmd);
  const { execa } = await import('execa');
  const r = await execa(cmd, args, { reject: false, timeout: options.timeoutMs ?? 60_000, cwd: options.cwd, stdin: 'ignore' });
  const res = { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? (r.timedOut ? 124 : 1) };
  if (options.check && res.exitCode !== 0) throw new LauncherError(`${cmd} failed: ${firstErrorLine(res.stderr || res.stdout) || `exit code ${res.exitCode}`}`);
  return res;
}

/** Slurm's own message without the `sbatch: error: ` prefix, first line only. */
export function firstErrorLine(text: string): string {
  const line = text.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
  return line.replace(/^[a-z]+: error: /, '');
}
