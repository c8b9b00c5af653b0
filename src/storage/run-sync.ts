import { basename } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { SslError } from '../errors.js';
import { checkBucket } from './check-bucket.js';
import { CheckpointUploader, formatProgress, formatSummary, type CheckpointUploaderOptions, type UploadSummary } from './checkpoint-uploader.js';
import { createS3Client, type S3ClientOptions } from './client.js';
import { downloadCheckpoint, findLatestRemoteCheckpoint } from './remote-checkpoints.js';
import { retryPolicyFromEnv } from './retry.js';
import { isS3Uri, parseS3Uri } from './uri.js';

/** Settings of {@link S3RunSync.open}. */
export interface RunSyncOptions extends S3ClientOptions {
  /** `s3://bucket/prefix` of this run (`--s3`, or `checkpoint_config.out_dir` + the work dir's name). */
  uri: string;
  /** Local work dir (checkpoints are written here first). */
  workDir: string;
  /** `checkpoint_config.max_keep_ckpts`, applied to the S3 copies. */
  maxKeepCkpts?: number;
  /** Warnings and progress lines (default stderr). */
  log?: (line: string) => void;
  /** Check the bucket first (default true; ranks other than 0 pass false: they only download). */
  check?: boolean;
  /** Tests: an existing client instead of one built from the options. */
  client?: S3Client;
  maxQueued?: number;
  retry?: CheckpointUploaderOptions['retry'];
  parts?: CheckpointUploaderOptions['parts'];
}

/**
 * Everything a training run (rank 0) does with S3, in the order it does it:
 * `open` (bucket check, fails in seconds) -> `resolveResume` -> `uploadMissing`
 * -> `afterCheckpoint` per save, `syncFiles` for config/logs -> `finish`.
 */
export class S3RunSync {
  readonly uri: string;
  readonly client: S3Client;
  readonly uploader: CheckpointUploader;
  private readonly log: (line: string) => void;
  private readonly ownsClient: boolean;
  private readonly workDir: string;

  private constructor(opts: RunSyncOptions, client: S3Client, ownsClient: boolean) {
    this.uri = opts.uri;
    this.client = client;
    this.ownsClient = ownsClient;
    this.workDir = opts.workDir;
    this.log = opts.log ?? ((l) => process.stderr.write(`${l}\n`));
    const up: CheckpointUploaderOptions = { client, prefixUri: opts.uri, log: this.log };
    if (opts.maxKeepCkpts !== undefined) up.maxKeepCkpts = opts.maxKeepCkpts;
    if (opts.maxQueued !== undefined) up.maxQueued = opts.maxQueued;
    up.retry = opts.retry ?? retryPolicyFromEnv();
    if (opts.parts !== undefined) up.parts = opts.parts;
    this.uploader = new CheckpointUploader(up);
  }

  /**
   * Checks the bucket (exists, writable; short timeouts) and sets up the uploader.
   * @throws SslError in seconds for a wrong bucket, rejected/missing credentials, an unreachable endpoint.
   */
  static async open(opts: RunSyncOptions): Promise<S3RunSync> {
    parseS3Uri(opts.uri);
    const { client, check, ...clientOpts } = opts;
    if (check ?? true) await checkBucket(opts.uri, clientOpts);
    return new S3RunSync(opts, client ?? createS3Client(clientOpts), client === undefined);
  }

  /**
   * The local checkpoint to resume from: `--resume-from s3://...` is downloaded into
   * the work dir; `--auto-resume` with no local checkpoint (`localLatest` undefined)
   * downloads the newest valid one under the prefix. Otherwise returns the inputs unchanged.
   */
  async resolveResume(args: { resumeFrom?: string | undefined; autoResume: boolean; localLatest?: string | undefined }): Promise<string | undefined> {
    if (args.resumeFrom) return isS3Uri(args.resumeFrom) ? this.fetch(args.resumeFrom) : args.resumeFrom;
    if (!args.autoResume || args.localLatest) return args.localLatest;
    const remote = await findLatestRemoteCheckpoint(this.client, this.uri);
    if (!remote) return undefined;
    this.log(`auto-resume: no local checkpoint, resuming from ${remote}`);
    return this.fetch(remote);
  }

  /** After a restart: uploads the local checkpoints an earlier run failed to upload. @returns their names. */
  uploadMissing(): Promise<string[]> {
    return this.uploader.uploadMissing(this.workDir);
  }

  /** Queues a checkpoint just written (atomically); waits only while 2 uploads are pending. */
  afterCheckpoint(path: string): Promise<void> {
    return this.uploader.enqueue(path);
  }

  /** Uploads snapshots of the resolved config and the text/JSON logs (in the background). */
  syncFiles(paths: string[]): void {
    for (const p of paths) void this.uploader.syncFile(p);
  }

  /** True when the local file may be deleted (`max_keep_ckpts`): its S3 copy is verified. */
  mayDeleteLocal(path: string): boolean {
    return this.uploader.isVerified(basename(path));
  }

  /**
   * Waits for the last uploads (a progress line per uploaded part), prints the
   * summary, and returns it: `ok` false means a checkpoint or log is only local, and
   * the run should exit non-zero.
   */
  async finish(opts: { onProgress?: (line: string) => void } = {}): Promise<UploadSummary> {
    const progress = opts.onProgress ?? this.log;
    const summary = await this.uploader.drain((p) => {
      if (p.pendingCheckpoints > 0) progress(formatProgress(p));
    });
    for (const line of formatSummary(summary, this.uri)) this.log(line);
    if (this.ownsClient) this.client.destroy();
    return summary;
  }

  private fetch(uri: string): Promise<string> {
    return downloadCheckpoint(this.client, uri, this.workDir);
  }
}

/**
 * For `--resume-from s3://...` / `load_from: s3://...` without `--s3`, and `ssl eval --checkpoint s3://...`:
 * downloads the checkpoint (or, for a URI ending in "/", the newest one under that prefix) into `dir` and
 * returns its local path; local paths pass through.
 */
export async function fetchIfRemote(pathOrUri: string, dir: string, opts: S3ClientOptions = {}): Promise<string> {
  if (!isS3Uri(pathOrUri)) return pathOrUri;
  const client = createS3Client(opts);
  try {
    // a prefix ("s3://bucket/run/"): the newest checkpoint uploaded completely under it, as --auto-resume picks
    const uri = pathOrUri.endsWith('/') ? await findLatestRemoteCheckpoint(client, pathOrUri) : pathOrUri;
    if (!uri) throw new SslError(`no complete checkpoint (epoch_N.ckpt / iter_N.ckpt) under ${pathOrUri}`, { code: 'NO_CHECKPOINT' });
    return await downloadCheckpoint(client, uri, dir);
  } finally {
    client.destroy();
  }
}

/** The S3 prefix of a run: `--s3` as given, or mmcv's `out_dir` rule (`out_dir/<work dir name>`) for `checkpoint_config.out_dir: s3://...`. */
export function runPrefix(args: { s3?: string | undefined; outDir?: string | null | undefined; workDir: string }): string | undefined {
  if (args.s3) return args.s3;
  if (args.outDir && isS3Uri(args.outDir)) return `${args.outDir.replace(/\/+$/, '')}/${basename(args.workDir)}`;
  return undefined;
}

