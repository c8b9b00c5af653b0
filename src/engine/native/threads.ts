/**
 * Thread count of the native engine: `--threads N`, else SSL_THREADS, else OMP_NUM_THREADS (what
 * torchrun and the local launcher set per rank), else the cores this process may use.
 */
import { availableParallelism } from 'node:os';
import { SslError } from '../../errors.js';

export function resolveThreads(requested?: number | string): number {
  const sources: [string, string | number | undefined][] = [
    ['--threads', requested],
    ['SSL_THREADS', process.env.SSL_THREADS],
    ['OMP_NUM_THREADS', process.env.OMP_NUM_THREADS],
  ];
  for (const [name, value] of sources) {
    if (value === undefined || value === '') continue;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new SslError(`${name} must be a whole number ≥ 1, got "${value}"`, { code: 'BAD_THREADS' });
    return n;
  }
  return availableParallelism();
}
