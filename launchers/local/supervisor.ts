import { createInterface } from 'node:readline';
import { constants } from 'node:os';
import { execa, type ResultPromise } from 'execa';
import type { ProcessSpec } from './plan.js';

export interface SuperviseOptions {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** After asking the ranks to stop (SIGTERM), kill the ones still running after this long. Default 10 s. */
  graceMs?: number;
  /** Called with each prefixed output line (e.g. to keep rank logs for `logs`). */
  onLine?: (rank: number, line: string, stream: 'stdout' | 'stderr') => void;
}

export interface SupervisedResult {
  /** 0 when every rank exited 0; else the first failing rank's code (128 + signal number for a signal). */
  exitCode: number;
  failedRank?: number;
  /** Exit code (or signal) per rank. */
  ranks: { rank: number; exitCode?: number; signal?: string }[];
}

export interface Supervised {
  pids: number[];
  done: Promise<SupervisedResult>;
  /** Forwards `signal` to every rank; the ones still running after the grace period are killed. */
  stop(signal?: NodeJS.Signals): void;
}

function codeOf(exitCode: number | undefined, signal: string | undefined): number {
  if (signal) return 128 + ((constants.signals as Record<string, number>)[signal] ?? 1);
  return exitCode ?? 1;
}

/**
 * Starts every process of a node (execa), prefixes each output line with `[rank N] `, and ends
 * the node as torchrun does: the first rank to fail stops the others (SIGTERM, then SIGKILL after
 * the grace period) and its exit code becomes the node's.
 */
export function superviseProcesses(specs: ProcessSpec[], o: SuperviseOptions = {}): Supervised {
  const stdout = o.stdout ?? process.stdout;
  const stderr = o.stderr ?? process.stderr;
  const graceMs = o.graceMs ?? 10_000;
  const children: ResultPromise[] = [];
  const running = new Set<number>();
  let first: { rank: number; code: number } | undefined;
  let killTimer: NodeJS.Timeout | undefined;

  const stop = (signal: NodeJS.Signals = 'SIGTERM') => {
    for (const [i, c] of children.entries()) if (running.has(i)) c.kill(signal);
    if (!killTimer) {
      killTimer = setTimeout(() => {
        for (const [i, c] of children.entries()) if (running.has(i)) c.kill('SIGKILL');
      }, graceMs);
      killTimer.unref();
    }
  };

  const ends = specs.map((spec, i) => {
    const child = execa(spec.command, spec.args, {
      // SSL_PARENT_PID: workers stop by themselves when this process disappears, even if it was SIGKILLed.
      env: { ...spec.env, SSL_PARENT_PID: String(process.pid) },
      extendEnv: true,
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      cleanup: true,
    });
    children.push(child);
    running.add(i);
    for (const [name, src, dst] of [
      ['stdout', child.stdout, stdout],
      ['stderr', child.stderr, stderr],
    ] as const) {
      if (!src) continue;
      createInterface({ input: src, crlfDelay: Infinity }).on('line', (line) => {
        const prefixed = `[rank ${spec.rank}] ${line}`;
        dst.write(`${prefixed}\n`);
        o.onLine?.(spec.rank, prefixed, name);
      });
    }
    return child.then((r) => {
      running.delete(i);
      const signal = r.signal ?? undefined;
      const code = codeOf(r.exitCode, signal);
      if (code !== 0 && !first) {
        first = { rank: spec.rank, code };
        stderr.write(`[ssl agent] rank ${spec.rank} (pid ${child.pid}) exited with ${signal ? `signal ${signal}` : `code ${code}`}; stopping the other ranks\n`);
        stop('SIGTERM');
      }
      return { rank: spec.rank, exitCode: r.exitCode, signal };
    });
  });

  const done = Promise.all(ends).then((ranks) => {
    if (killTimer) clearTimeout(killTimer);
    return { exitCode: first?.code ?? 0, failedRank: first?.rank, ranks };
  });
  return { pids: children.map((c) => c.pid ?? -1), done, stop };
}
