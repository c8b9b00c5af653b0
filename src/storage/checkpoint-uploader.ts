import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { digestFile } from './digest.js';
import { listRemoteCheckpoints, parseCheckpointName, pruneRemote } from './remote-checkpoints.js';
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from './retry.js';
import { httpStatusOf, isTransientS3Error, shortS3Error } from './s3-errors.js';
import { DEFAULT_PARTS, SHA256_METADATA_KEY, uploadVerified, type PartOptions } from './upload-file.js';
import { joinKey, parseS3Uri, type S3Uri } from './uri.js';

/** Settings of a {@link CheckpointUploader}. */
export interface CheckpointUploaderOptions {
  client: S3Client;
  /** Destination `s3://bucket/prefix`; objects are `prefix/<name>`. */
  prefixUri: string;
  /** Checkpoints in flight plus waiting before `enqueue` blocks (default 2). */
  maxQueued?: number;
  /** `max_keep_ckpts` for the S3 copies (<= 0: keep all; default -1). */
  maxKeepCkpts?: number;
  retry?: Partial<RetryPolicy>;
  parts?: Partial<PartOptions>;
  /** Where warnings go (retries, failures, prune errors); default stderr. */
  log?: (line: string) => void;
}

/** One finished upload. */
export interface UploadedItem {
  name: string;
  size: number;
  parts: number;
  seconds: number;
  verifiedBy: 'etag' | 'readback' | 'already-present';
}

/** One upload that failed after all retries (the local file is kept). */
export interface FailedItem {
  name: string;
  localPath: string;
  error: string;
}

/** State of the uploads; `ok` is false when any checkpoint or synced file failed. */
export interface UploadSummary {
  uploaded: UploadedItem[];
  failed: FailedItem[];
  failedFiles: FailedItem[];
  pruned: string[];
  ok: boolean;
}

/** What {@link CheckpointUploader.drain} reports while waiting. */
export interface UploadProgress {
  /** Checkpoints not finished yet (including the current one). */
  pendingCheckpoints: number;
  current?: string;
  currentBytes: number;
  currentTotal: number;
  done: number;
  failed: number;
}

interface Task {
  kind: 'checkpoint' | 'file';
  name: string;
  localPath: string;
  dest: S3Uri;
  settle: () => void;
}

/**
 * Background uploads of checkpoints and logs to one S3 prefix. Checkpoints go one
 * at a time (parts in parallel), in order; `enqueue` returns at once unless
 * `maxQueued` checkpoints are already in flight or waiting. Transient errors are
 * retried with backoff; a checkpoint that still fails is reported by name, left
 * on disk, and listed in {@link summary}; after such a failure later uploads try
 * once (no backoff) until one succeeds. Never deletes local files.
 */
export class CheckpointUploader {
  readonly prefixUri: string;
  private readonly client: S3Client;
  private readonly prefix: S3Uri;
  private readonly maxQueued: number;
  private readonly maxKeep: number;
  private readonly retry: RetryPolicy;
  private readonly parts: PartOptions;
  private readonly log: (line: string) => void;
  private readonly queue: Task[] = [];
  private readonly verified = new Set<string>();
  private result: UploadSummary = { uploaded: [], failed: [], failedFiles: [], pruned: [], ok: true };
  private slotWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private pendingCheckpoints = 0;
  private running = false;
  /** Set when an upload ran out of retries on a transient error; later uploads try once until one succeeds. */
  private outage = false;
  private current: { name: string; bytes: number; total: number } | undefined;
  private progressListener: (() => void) | undefined;

  constructor(opts: CheckpointUploaderOptions) {
    this.client = opts.client;
    this.prefixUri = opts.prefixUri;
    this.prefix = parseS3Uri(opts.prefixUri);
    this.maxQueued = Math.max(1, opts.maxQueued ?? 2);
    this.maxKeep = opts.maxKeepCkpts ?? -1;
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.parts = { ...DEFAULT_PARTS, ...opts.parts };
    this.log = opts.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  /**
   * Queues a checkpoint written (atomically) at `localPath` for upload as
   * `prefix/<name>` (default: its file name). Resolves once queued: at once, or
   * when a slot frees if `maxQueued` checkpoints are pending.
   */
  async enqueue(localPath: string, name: string = basename(localPath)): Promise<void> {
    while (this.pendingCheckpoints >= this.maxQueued) await new Promise<void>((r) => this.slotWaiters.push(r));
    this.pendingCheckpoints++;
    this.push({ kind: 'checkpoint', name, localPath, dest: this.destOf(name), settle: () => {} });
  }

  /**
   * Uploads a snapshot of a small file that keeps changing (resolved config, text
   * log, JSON log) as `prefix/<name>`. A sync of the same name still waiting is not
   * repeated (the waiting one reads the file when it runs). Resolves when done; never rejects.
   */
  syncFile(localPath: string, name: string = basename(localPath)): Promise<void> {
    const waiting = this.queue.find((t) => t.kind === 'file' && t.name === name);
    if (waiting) {
      return new Promise<void>((r) => {
        const prev = waiting.settle;
        waiting.settle = () => {
          prev();
          r();
        };
      });
    }
    return new Promise<void>((r) => this.push({ kind: 'file', name, localPath, dest: this.destOf(name), settle: r }));
  }

  /** True once `name`'s upload has been verified: only then may the runner delete the local copy. */
  isVerified(name: string): boolean {
    return this.verified.has(name);
  }

  /**
   * After a restart: queues the local checkpoints in `localDir` whose S3 copy is
   * missing or differs (SHA-256 metadata), skipping ones older than the newest
   * `maxKeepCkpts` (they would be pruned at once). Copies already present count as verified.
   * @returns the names queued.
   */
  async uploadMissing(localDir: string): Promise<string[]> {
    const local = readdirSync(localDir).filter((n) => parseCheckpointName(n) !== undefined);
    const remote = await withRetry(() => listRemoteCheckpoints(this.client, this.prefixUri), this.retry);
    const keepSet = this.newestNames([...new Set([...local, ...remote.map((r) => r.name)])]);
    const queued: string[] = [];
    for (const name of local.sort((a, b) => parseCheckpointName(a)!.number - parseCheckpointName(b)!.number)) {
      if (!keepSet.has(name)) continue;
      const path = join(localDir, name);
      if (remote.some((r) => r.name === name) && (await this.remoteMatches(path, name))) {
        this.verified.add(name);
        continue;
      }
      await this.enqueue(path, name);
      queued.push(name);
    }
    return queued;
  }

  /**
   * Waits for every queued upload, calling `onProgress` at the start, after each
   * uploaded part and at each completion (print it as a progress line), and returns the summary.
   */
  async drain(onProgress?: (p: UploadProgress) => void): Promise<UploadSummary> {
    if (onProgress) {
      this.progressListener = () => onProgress(this.progress());
      onProgress(this.progress());
    }
    while (this.running || this.queue.length > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
    this.progressListener = undefined;
    return this.summary();
  }

  /** What was uploaded, what failed (by name, with the local path kept) and what was pruned so far. */
  summary(): UploadSummary {
    const s = this.result;
    return { uploaded: [...s.uploaded], failed: [...s.failed], failedFiles: [...s.failedFiles], pruned: [...s.pruned], ok: s.failed.length === 0 && s.failedFiles.length === 0 };
  }

  private progress(): UploadProgress {
    const p: UploadProgress = {
      pendingCheckpoints: this.pendingCheckpoints,
      currentBytes: this.current?.bytes ?? 0,
      currentTotal: this.current?.total ?? 0,
      done: this.result.uploaded.length,
      failed: this.result.failed.length + this.result.failedFiles.length,
    };
    if (this.current) p.current = this.current.name;
    return p;
  }

  private destOf(name: string): S3Uri {
    return { bucket: this.prefix.bucket, key: joinKey(this.prefix.key, name) };
  }

  private newestNames(names: string[]): Set<string> {
    if (this.maxKeep <= 0) return new Set(names);
    const keep = new Set<string>();
    for (const kind of ['epoch', 'iter']) {
      const ofKind = names.filter((n) => parseCheckpointName(n)?.kind === kind).sort((a, b) => parseCheckpointName(b)!.number - parseCheckpointName(a)!.number);
      for (const n of ofKind.slice(0, this.maxKeep)) keep.add(n);
    }
    return keep;
  }

  private async remoteMatches(localPath: string, name: string): Promise<boolean> {
    const dest = this.destOf(name);
    try {
      const head = await withRetry(() => this.client.send(new HeadObjectCommand({ Bucket: dest.bucket, Key: dest.key })), this.retry);
      const d = await digestFile(localPath, this.parts.partSize);
      return head.Metadata?.[SHA256_METADATA_KEY] === d.sha256 && head.ContentLength === d.size;
    } catch (e) {
      if (httpStatusOf(e) === 404) return false;
      throw e;
    }
  }

  private push(task: Task): void {
    this.queue.push(task);
    void this.work();
  }

  private async work(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let task = this.queue.shift(); task; task = this.queue.shift()) await this.process(task);
    } finally {
      this.running = false;
      for (const r of this.idleWaiters.splice(0)) r();
    }
  }

  private async process(task: Task): Promise<void> {
    const t0 = Date.now();
    const where = `s3://${task.dest.bucket}/${task.dest.key}`;
    try {
      // a growing log is snapshotted in memory; a checkpoint (written atomically, immutable) is streamed
      const bytes = task.kind === 'file' ? readFileSync(task.localPath) : undefined;
      const source = bytes ? { bytes } : { path: task.localPath };
      this.current = { name: task.name, bytes: 0, total: bytes ? bytes.length : statSync(task.localPath).size };
      const r = await withRetry(
        () =>
          uploadVerified(this.client, source, task.dest, this.parts, (loaded) => {
            if (this.current) this.current.bytes = loaded;
            this.progressListener?.();
          }),
        // during an outage each upload tries once, so a run's last uploads do not each wait out the backoff
        this.outage ? { ...this.retry, attempts: 1 } : this.retry,
        (e, attempt, delay) => this.log(`S3: upload of ${task.name} failed (${shortS3Error(e)}), retry ${attempt}/${this.retry.attempts - 1} in ${(delay / 1000).toFixed(1)} s`),
      );
      this.outage = false;
      this.verified.add(task.name);
      if (task.kind === 'file') this.result.failedFiles = this.result.failedFiles.filter((f) => f.name !== task.name);
      this.result.uploaded.push({ name: task.name, size: r.size, parts: r.parts, seconds: (Date.now() - t0) / 1000, verifiedBy: r.verifiedBy });
      if (task.kind === 'checkpoint' && this.maxKeep > 0) await this.prune();
    } catch (e) {
      if (isTransientS3Error(e)) this.outage = true;
      const item = { name: task.name, localPath: task.localPath, error: shortS3Error(e) };
      if (task.kind === 'checkpoint') this.result.failed.push(item);
      else this.result.failedFiles = [...this.result.failedFiles.filter((f) => f.name !== task.name), item];
      this.log(`S3: ${task.kind} ${task.name} was NOT uploaded to ${where} (${item.error}); kept locally at ${task.localPath}`);
    } finally {
      this.current = undefined;
      if (task.kind === 'checkpoint') {
        this.pendingCheckpoints--;
        this.slotWaiters.shift()?.();
      }
      task.settle();
      this.progressListener?.();
    }
  }

  private async prune(): Promise<void> {
    try {
      this.result.pruned.push(...(await withRetry(() => pruneRemote(this.client, this.prefixUri, this.maxKeep), this.retry)));
    } catch (e) {
      this.log(`S3: could not prune old checkpoints under ${this.prefixUri} (${shortS3Error(e)}); they stay`);
    }
  }
}

/** One progress line: `S3: 2 checkpoint upload(s) pending, epoch_3.ckpt 12.0/20.0 MB`. */
export function formatProgress(p: UploadProgress): string {
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const cur = p.current ? `, ${p.current} ${mb(p.currentBytes)}/${mb(p.currentTotal)} MB` : '';
  return `S3: ${p.pendingCheckpoints} checkpoint upload(s) pending${cur} (${p.done} done, ${p.failed} failed)`;
}

/** Summary lines for the end of a run; failed checkpoints are named with their local paths. */
export function formatSummary(s: UploadSummary, prefixUri: string): string[] {
  const lines = [`S3: ${s.uploaded.length} file(s) uploaded to ${prefixUri}${s.pruned.length ? `, ${s.pruned.length} old checkpoint(s) pruned` : ''}`];
  for (const f of s.failed) lines.push(`S3: FAILED checkpoint ${f.name} (${f.error}); kept locally at ${f.localPath}`);
  for (const f of s.failedFiles) lines.push(`S3: FAILED file ${f.name} (${f.error}); kept locally at ${f.localPath}`);
  return lines;
}
