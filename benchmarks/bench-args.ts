import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Small helpers the benchmark scripts share. */

/** `--name N` from the command line, or `fallback`. */
export function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Upper median of `xs` (not modified). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** ms that `fn` takes: wall time, or with `cpuClock` this process's CPU time (user + system, all threads). */
export async function timed(fn: () => Promise<void>, cpuClock: boolean): Promise<number> {
  if (cpuClock) {
    const c0 = process.cpuUsage();
    await fn();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000;
  }
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** CPU ms used by this process's finished (waited-for) children, from /proc/self/stat (Linux; 0 elsewhere). */
export function childrenCpuMs(): number {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    // after "pid (comm) ": state is field 3, so cutime (16) and cstime (17) are at 13 and 14
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
  } catch {
    return 0;
  }
}

/** The `mode: train` rows of the `.log.json` that a run wrote to `workDir`, in file order. */
export function trainLogRows(workDir: string): { iter: number; time: number }[] {
  const file = readdirSync(workDir).find((f) => f.endsWith('.log.json'));
  if (!file) throw new Error(`no .log.json in ${workDir}`);
  return readFileSync(join(workDir, file), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"mode":"train"'))
    .map((l) => JSON.parse(l) as { iter: number; time: number });
}

/** A running PyTorch benchmark script (see {@link startTorchProcess}). */
export interface TorchProcess {
  /** PyTorch's version, from the script's first line. */
  version: string;
  /** Sends one command line; resolves to the script's answer line. */
  ask(cmd: string): Promise<string>;
  /** Ends stdin, so the script leaves its command loop. */
  close(): void;
}

/**
 * benchmarks/`script` in a /usr/bin/python3 process, `cfg` as its JSON argument and OMP_NUM_THREADS `threads`
 * (`env` on top): the script prints one JSON line with `version`, then answers every stdin line with one line.
 * `warmUp`: a command sent once before returning, its answer dropped. A string instead of a process says why
 * PyTorch is not available (no python3, no torch, or the script failed on start or on `warmUp`).
 */
export async function startTorchProcess(
  script: string,
  cfg: Record<string, unknown>,
  threads: number,
  { env = {}, warmUp }: { env?: Record<string, string>; warmUp?: string } = {},
): Promise<TorchProcess | string> {
  if (!existsSync('/usr/bin/python3')) return 'pytorch: /usr/bin/python3 not found (tools/setup-bench-env.sh)';
  // from lib/benchmarks/ back to the sources: the .py files are not copied by tsc
  const path = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'benchmarks', script);
  const child = spawn('/usr/bin/python3', [path, JSON.stringify(cfg)], { env: { ...process.env, OMP_NUM_THREADS: String(threads), ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await lines.next();
    if (r.done) throw new Error(`the PyTorch process exited: ${stderr.trim().split('\n').pop()}`);
    return r.value as string;
  };
  const ask = async (cmd: string) => {
    child.stdin!.write(`${cmd}\n`);
    return next();
  };
  try {
    const info = JSON.parse(await next()) as { version: string };
    if (warmUp !== undefined) await ask(warmUp);
    return { version: info.version, ask, close: () => child.stdin!.end() };
  } catch (e) {
    child.kill();
    return `pytorch: not available (${(e as Error).message}; tools/setup-bench-env.sh installs it)`;
  }
}
