import { readFileSync } from 'node:fs';

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
