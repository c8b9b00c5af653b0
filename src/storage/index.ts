/**
 * Storage: checkpoints and logs to S3 (AWS, MinIO, Ceph, any S3-compatible store),
 * resume from S3, data read from S3, and checkpoint publishing tools.
 *
 * The runner's API (one object per run, see run-sync.ts; rank 0 uploads, every rank may download):
 * ```ts
 * const uri = runPrefix({ s3: args.s3, outDir: cfg.checkpoint_config?.out_dir, workDir }); // --s3 or out_dir: s3://
 * const s3 = await S3RunSync.open({ uri, endpoint: args.s3Endpoint, workDir,               // rank 0: bucket exists + writable,
 *   maxKeepCkpts: cfg.checkpoint_config?.max_keep_ckpts, check: rank === 0 });              //   SslError in seconds otherwise
 * resumeFrom = await s3.resolveResume({ resumeFrom, autoResume, localLatest });            // s3:// -> downloaded, sha256-checked
 * await s3.uploadMissing();                                                                // what an earlier run left only locally
 * checkpointHook.onSaved = (p) => s3.afterCheckpoint(p);                                   // background; blocks only if 2 pending
 * checkpointHook.mayDelete = (p) => s3.mayDeleteLocal(p);                                  // local max_keep_ckpts after verification
 * s3.syncFiles([resolvedConfig, textLog, jsonLog]);                                        // snapshots, coalesced
 * const summary = await s3.finish();   // progress lines, summary naming failed checkpoints; !summary.ok -> exit non-zero
 * ```
 * Lower level: `createS3Client`, `checkBucket`, `CheckpointUploader` (enqueue/syncFile/drain/
 * summary/isVerified/uploadMissing), `findLatestRemoteCheckpoint`, `downloadCheckpoint`, `pruneRemote`,
 * `uploadVerified` (multipart, SHA-256 metadata, ETag or read-back verification), `withRetry`.
 * Retry knobs: SSL_S3_RETRY_ATTEMPTS (5), SSL_S3_RETRY_BASE_MS (1000), SSL_S3_RETRY_MAX_MS (30000).
 * Data: importing './s3-data-backend.js' registers src/data's `s3` file backend (`data_prefix: s3://...`,
 * ETag-revalidated local cache); `S3FileBackend` is the underlying reader.
 * Tools (import from './model-files.js'; they load the engine's safetensors codec):
 * `publishModel(in, out)`, `extractBackbone(ckpt, out)` on local paths or s3:// URIs.
 * Nothing exported here imports TF.js.
 */
export { parseS3Uri, formatS3Uri, isS3Uri, joinKey, type S3Uri } from './uri.js';
export { createS3Client, resolveEndpoint, type S3ClientOptions } from './client.js';
export { checkBucket, type CheckBucketOptions } from './check-bucket.js';
export { isTransientS3Error, explainS3Error, shortS3Error } from './s3-errors.js';
export { DEFAULT_RETRY, withRetry, backoffDelayMs, retryPolicyFromEnv, type RetryPolicy } from './retry.js';
export { uploadVerified, verifyObject, IntegrityMismatch, SHA256_METADATA_KEY, DEFAULT_PARTS, type PartOptions, type UploadResult } from './upload-file.js';
export {
  CheckpointUploader,
  formatProgress,
  formatSummary,
  type CheckpointUploaderOptions,
  type UploadSummary,
  type UploadProgress,
  type UploadedItem,
  type FailedItem,
} from './checkpoint-uploader.js';
export {
  CHECKPOINT_NAME,
  parseCheckpointName,
  listObjects,
  listRemoteCheckpoints,
  findLatestRemoteCheckpoint,
  pruneRemote,
  downloadCheckpoint,
  downloadToDir,
  type RemoteCheckpoint,
} from './remote-checkpoints.js';
export { S3RunSync, fetchIfRemote, runPrefix, type RunSyncOptions } from './run-sync.js';
export { S3FileBackend, type S3FileBackendOptions } from './s3-file-backend.js';
export { readPathBytes, writePathBytes } from './path-io.js';
