import type { JobStatus } from './launcher.js';

/** The failed worker's last log lines as `ssl jobs status` and `ssl train --wait` print them: a header, then each line indented. */
export function formatLogTail(tail: NonNullable<JobStatus['logTail']>): string {
  return `Last ${tail.lines.length} log lines of ${tail.source}:\n${tail.lines.map((l) => `  ${l}\n`).join('')}`;
}
