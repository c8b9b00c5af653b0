import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { packageRoot } from '../../launchers/slurm/index.js';

export interface CommandResult {
  exitCode: number;
  timedOut: boolean;
  /** Stopped because the driver was interrupted (not a failure of the stage). */
  interrupted: boolean;
  stdout: string;
  seconds: number;
}

/** `node <ssl>/bin/run.js`: the CLI a stage runs (another ssl's entry point for a relative gate's reference). */
export function sslEntry(bin?: string): string[] {
  return [process.execPath, bin ?? join(packageRoot(), 'bin', 'run.js')];
}

/** Live process groups of running stages, stopped when the driver is interrupted. */
const running = new Set<number>();
let stopping = false;

/** True once the driver was interrupted: no new stage starts. */
export const isStopping = (): boolean => stopping;

/**
 * Stops every running stage (the driver was interrupted): SIGTERM to each process group (a training
 * stops at the end of its iteration), SIGKILL to what is left after `graceMs`. Resolves when all are gone.
 */
export async function stopAllStages(graceMs = 10_000): Promise<void> {
  stopping = true;
  for (const pid of running) killGroup(pid, 'SIGTERM');
  const end = Date.now() + graceMs;
  while (running.size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  for (const pid of running) killGroup(pid, 'SIGKILL');
}

export function killGroup(pid: number, signal: NodeJS.Signals = 'SIGTERM'): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs one `ssl` command as its own process group (so a timeout stops the workers it starts too),
 * stdout and stderr into `logPath`, stdout also returned. After `timeoutS` the group gets SIGTERM,
 * 10 s later SIGKILL.
 */
export function runSsl(argv: string[], o: { logPath: string; timeoutS: number; bin?: string; cwd?: string; onSpawn?: (pid: number) => void }): Promise<CommandResult> {
  mkdirSync(dirname(o.logPath), { recursive: true });
  const log = createWriteStream(o.logPath, { flags: 'a' });
  const [node, entry] = sslEntry(o.bin);
  const t0 = performance.now();
  if (stopping) return Promise.resolve({ exitCode: 130, timedOut: false, interrupted: true, stdout: '', seconds: 0 });
  return new Promise((resolvePromise) => {
    const child = spawn(node!, [entry!, ...argv], { cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, FORCE_COLOR: '0' } });
    const pid = child.pid!;
    running.add(pid);
    o.onSpawn?.(pid);
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      log.write(d);
    });
    child.stderr.on('data', (d: Buffer) => log.write(d));
    let timedOut = false;
    let hard: NodeJS.Timeout | undefined;
    const soft = setTimeout(() => {
      timedOut = true;
      log.write(`\nssl sweep: stage timed out after ${o.timeoutS} s; stopping it\n`);
      killGroup(pid, 'SIGTERM');
      hard = setTimeout(() => killGroup(pid, 'SIGKILL'), 10_000);
    }, o.timeoutS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(soft);
      if (hard) clearTimeout(hard);
      running.delete(pid);
      // workers the command started may outlive it when it crashed: stop the rest of its group
      killGroup(pid, 'SIGKILL');
      const exitCode = code ?? (signal ? 128 : 1);
      log.end(() => resolvePromise({ exitCode, timedOut, interrupted: stopping, stdout, seconds: (performance.now() - t0) / 1000 }));
    });
    child.on('error', (e) => log.write(`ssl sweep: could not start the stage: ${e.message}\n`));
  });
}
