import { setTimeout as sleep } from 'node:timers/promises';
import { isTransientS3Error } from './s3-errors.js';

/** Exponential backoff: attempt k (1-based) waits min(maxDelayMs, baseDelayMs * 2^(k-1)) * (0.5..1) before retrying. */
export interface RetryPolicy {
  /** Total attempts including the first (default 5). */
  attempts: number;
  /** First delay in ms (default 1000). */
  baseDelayMs: number;
  /** Cap of one delay in ms (default 30000). */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 1000, maxDelayMs: 30_000 };

/** The retry policy with operator overrides: SSL_S3_RETRY_ATTEMPTS, SSL_S3_RETRY_BASE_MS, SSL_S3_RETRY_MAX_MS. */
export function retryPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): RetryPolicy {
  const num = (v: string | undefined, d: number) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : d);
  return {
    attempts: Math.max(1, num(env.SSL_S3_RETRY_ATTEMPTS, DEFAULT_RETRY.attempts)),
    baseDelayMs: num(env.SSL_S3_RETRY_BASE_MS, DEFAULT_RETRY.baseDelayMs),
    maxDelayMs: num(env.SSL_S3_RETRY_MAX_MS, DEFAULT_RETRY.maxDelayMs),
  };
}

/** Delay before retry number `attempt` (1 = after the first failure), with jitter in [0.5, 1]. */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const d = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(d * (0.5 + 0.5 * random()));
}

/**
 * Runs `fn` until it succeeds, retrying transient S3 errors (5xx, throttling,
 * timeouts, resets, integrity mismatches) with backoff; permanent errors and the
 * last transient one are rethrown.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt >= policy.attempts || !isTransientS3Error(e)) throw e;
      const delay = backoffDelayMs(policy, attempt);
      onRetry?.(e, attempt, delay);
      await sleep(delay);
    }
  }
}
