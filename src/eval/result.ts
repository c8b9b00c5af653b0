import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** What every `ssl eval ...` writes to `WORK_DIR/eval/<name>.json` (and uploads with `--s3`). */
export interface EvalResult {
  /** linear, svm, knn, ... (the file name). */
  name: string;
  /** The headline metric's name (`head4_top1`, `mAP`, `knn_top1`) and value (percent). */
  metric: string;
  value: number;
  /** Every metric the evaluation produced. */
  results: Record<string, unknown>;
  /** The config file evaluated. */
  config: string;
  /** The weights evaluated and the SHA-256 of that file (null without a checkpoint: random init). */
  checkpoint: string | null;
  checkpoint_sha256: string | null;
  /** Seconds from start to result. */
  wall_seconds: number;
  world_size: number;
  created: string;
  [extra: string]: unknown;
}

/** SHA-256 (hex) of a local file; null when there is none. */
export async function fileSha256(path: string | null | undefined): Promise<string | null> {
  if (!path || !existsSync(path)) return null;
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Where `ssl eval <name>` writes its result: `<workDir>/eval/<name>.json`. */
export function evalResultPath(workDir: string, name: string): string {
  return join(workDir, 'eval', `${name}.json`);
}

/** Writes the result JSON atomically (a temporary file renamed into place); returns `path`. */
export function writeEvalResult(path: string, r: EvalResult): string {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(r, null, 2)}\n`);
  renameSync(tmp, path);
  return path;
}
