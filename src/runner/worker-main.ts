/**
 * The worker entry point every launcher starts (`bin/ssl-worker.js`), and `ssl train --launcher none`
 * calls in-process: resolves its place in the job, builds model/data/optimizer/hooks from the config,
 * resumes if asked, trains, and returns the exit code.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isSslError, SslError } from '../errors.js';
import { NanLossError, StoppedError, type BaseRunner, type StopRequest } from './base-runner.js';
import { removeStaleTemps } from './checkpoint.js';
import { checkCheckpointFile, checkSameArchitecture, checkTorchCheckpointFile, onlyCorruptMessage, scanCheckpoints } from './checkpoint-check.js';
import { looksLikeZip } from '../engine/pth/zip-archive.js';
import { workflowOf } from './epoch-runner.js';
import { CheckpointHook } from './hooks/checkpoint-hook.js';
import type { DistContext } from '../dist/trainer-context.js';
import { singleProcessContext } from '../dist/trainer-context.js';
import { Logger, rankLogName, runTimestamp } from './logging/logger.js';
import type { TrainLoader } from './types.js';
import { parseWorkerArgs, type WorkerArgs } from './worker-args.js';

/** Exit codes of the worker. */
export const EXIT = {
  OK: 0,
  /** Training finished but a checkpoint or log could not be uploaded to S3 (it is only local). */
  UPLOAD_FAILED: 4,
  /** A config/usage error the user can fix (SslError). */
  BAD_INPUT: 2,
  /** NaN/Inf loss: stopped, last good checkpoint kept. */
  NAN_LOSS: 3,
  /** Stopped by SIGUSR1 (or SIGTERM with --checkpoint-on-signal) after writing a checkpoint: requeue and --auto-resume. */
  CHECKPOINTED: 75,
  SIGINT: 130,
  SIGTERM: 143,
  UNEXPECTED: 1,
} as const;

/**
 * Which file of the user's config tree a key came from, for a JSON written by `ssl train` that names
 * its original (`filename`); the original itself when it can no longer be read (e.g. on another node).
 */
async function originalSources(filename: string): Promise<(k: string) => string> {
  try {
    const { resolveConfig } = await import('../config/index.js');
    const r = resolveConfig(filename);
    return (k) => r.sourceOf(k) ?? filename;
  } catch {
    return () => filename;
  }
}

/** Loads the resolved config (.json written by `ssl train`, or any format `loadConfig` reads). */
async function loadWorkerConfig(path: string): Promise<{ cfg: Record<string, unknown>; sourceOf: (k: string) => string | undefined }> {
  if (!existsSync(path)) throw new SslError(`config file not found: ${path}`);
  if (path.endsWith('.json')) {
    const cfg = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    if (typeof cfg.filename !== 'string') return { cfg, sourceOf: () => path };
    return { cfg, sourceOf: await originalSources(cfg.filename) };
  }
  const { resolveConfig } = await import('../config/index.js');
  const r = resolveConfig(path);
  return { cfg: r.cfg as Record<string, unknown>, sourceOf: (k) => r.sourceOf(k) ?? path };
}

/** The job placement: `src/dist` when a multi-process environment is found, else one process. */
async function createDist(args: WorkerArgs, cfg: Record<string, unknown>): Promise<DistContext> {
  let env: { rank: number; worldSize: number } = { rank: 0, worldSize: 1 };
  try {
    const mod = (await import('../dist/env.js')) as { readDistEnv: (e: NodeJS.ProcessEnv, d?: { port?: number }) => { rank: number; worldSize: number } };
    env = mod.readDistEnv(process.env, { port: args.port ?? (cfg.dist_params as { port?: number } | undefined)?.port });
  } catch (e) {
    if (isSslError(e)) throw e;
  }
  if (env.worldSize <= 1) return singleProcessContext();
  const path = '../dist/context.js';
  let mod: { createDistContext?: (env: unknown, cfg: unknown) => Promise<DistContext> };
  try {
    mod = (await import(path)) as typeof mod;
  } catch {
    throw new SslError(`this process is rank ${env.rank} of ${env.worldSize}, but distributed training (src/dist/context) is not available in this build`);
  }
  if (!mod.createDistContext) throw new SslError('src/dist/context has no createDistContext');
  return mod.createDistContext(env, cfg);
}

/** Rank 0's run timestamp on every rank (the ranks' log files share it). */
function sharedTimestamp(dist: DistContext): string {
  const mine = runTimestamp();
  if (dist.worldSize === 1 || !dist.collectives) return mine;
  const bytes = dist.collectives.broadcastBytes(dist.rank === 0 ? new TextEncoder().encode(mine) : undefined, 0);
  return new TextDecoder().decode(bytes);
}

/** Runs a worker with `argv` (without node and script). Resolves to the exit code; never throws. */
export async function runWorker(argv: string[]): Promise<number> {
  const startedAt = performance.now();
  let logger: Logger | undefined;
  let dist: DistContext | undefined;
  let runner: BaseRunner | undefined;
  let s3: import('../storage/run-sync.js').S3RunSync | undefined;
  let loaders: TrainLoader[] = [];
  let closers: (() => Promise<void>)[] = [];
  const handlers: [NodeJS.Signals, () => void][] = [];
  /** Set once the inputs are checked and the run writes to its work dir. */
  let started = false;
  /** Checkpoints downloaded from S3 before the run started (removed again if it fails to start). */
  const downloaded: string[] = [];
  let cleanWorkDir: (() => void) | undefined;
  try {
    const args = parseWorkerArgs(argv);
    const { cfg, sourceOf } = await loadWorkerConfig(args.config);
    dist = await createDist(args, cfg);
    if (args.eval) {
      const { runEvalWorker } = await import('./eval-worker.js');
      return await runEvalWorker({ args, cfg, dist, workDir: resolve(args.workDir), startedAt });
    }
    const workDir = resolve(args.workDir);
    const workDirExisted = existsSync(workDir);
    cleanWorkDir = () => {
      if (!workDirExisted && existsSync(workDir) && readdirSync(workDir).length === 0) rmdirSync(workDir);
    };
    const timestamp = sharedTimestamp(dist);
    // nothing is written to the work dir before the resume/load inputs are checked: log lines wait in memory
    logger = new Logger(join(workDir, rankLogName(timestamp, dist.rank)), dist.rank, 'mmselfsup', undefined, { deferFile: true });

    // S3 (src/storage, loaded only when used): --s3 or checkpoint_config.out_dir: s3://...
    const ckCfg = (cfg.checkpoint_config ?? {}) as { out_dir?: string | null; max_keep_ckpts?: number };
    const wantsS3 = Boolean(args.s3) || (typeof ckCfg.out_dir === 'string' && ckCfg.out_dir.startsWith('s3://'));
    // resume_from / load_from: the flags win over the config's keys (as MMSelfSup's tools/train.py sets cfg.resume_from)
    const cfgResume = typeof cfg.resume_from === 'string' && cfg.resume_from !== '' ? cfg.resume_from : undefined;
    const loadFrom = args.loadFrom ?? (typeof cfg.load_from === 'string' && cfg.load_from !== '' ? cfg.load_from : undefined);
    const storage = wantsS3 || [args.resumeFrom, cfgResume, loadFrom].some((p) => typeof p === 'string' && p.startsWith('s3://')) ? await import('../storage/run-sync.js') : undefined;
    const log = logger;
    if (storage && wantsS3) {
      const uri = storage.runPrefix({ s3: args.s3, outDir: ckCfg.out_dir, workDir }) as string;
      s3 = await storage.S3RunSync.open({ uri, endpoint: args.s3Endpoint, workDir, maxKeepCkpts: ckCfg.max_keep_ckpts, check: dist.rank === 0, log: (l) => log.info(l) });
    }
    const s3opts = { endpoint: args.s3Endpoint };
    // s3:// inputs are downloaded into the work dir; a missing object is an error naming the setting
    const fetch = async (what: string, p: string, get: () => Promise<string | undefined>): Promise<string | undefined> => {
      try {
        const local = await get();
        if (local && local !== p) downloaded.push(local);
        return local;
      } catch (e) {
        if (isSslError(e) && e.code === 'NO_CHECKPOINT' && !e.message.startsWith(what)) throw new SslError(`${what}: ${e.message}`, { code: e.code, cause: e });
        throw e;
      }
    };

    // resume target first: an auto-resumed run keeps the checkpoint's seed unless --seed is given
    const autoResume = args.autoResume && !args.resumeFrom;
    const scan = autoResume ? scanCheckpoints(workDir) : undefined;
    const localLatest = scan?.latest;
    let resumeFrom: string | undefined;
    let resumeWhat = args.resumeFrom ? '--resume-from' : '--auto-resume';
    if (s3) {
      const sync = s3;
      resumeFrom = await fetch(resumeWhat, args.resumeFrom ?? '', () => sync.resolveResume({ resumeFrom: args.resumeFrom, autoResume: args.autoResume, localLatest }));
    } else if (args.resumeFrom) {
      const st = storage;
      resumeFrom = st ? await fetch('--resume-from', args.resumeFrom, () => st.fetchIfRemote(args.resumeFrom!, workDir, s3opts)) : args.resumeFrom;
    } else resumeFrom = localLatest;
    if (autoResume) {
      const corrupt = [...(scan?.corrupt ?? [])];
      if (s3 && !resumeFrom) {
        const { listRemoteCheckpoints } = await import('../storage/remote-checkpoints.js');
        for (const c of await listRemoteCheckpoints(s3.client, s3.uri)) corrupt.push({ path: c.uri, problem: 'is incomplete (no verified upload)' });
      }
      const where = `${workDir}${s3 ? ` or ${s3.uri}` : ''}`;
      if (resumeFrom) {
        logger.info(`auto-resume: found ${resumeFrom}`);
        if (corrupt.length > 0) logger.warning(`auto-resume: skipped ${corrupt.map((c) => `${c.path} (${c.problem.replace(/^is /, '')})`).join(', ')}`);
      } else if (corrupt.length > 0) {
        if (!args.autoResumeFreshOk) {
          throw new SslError(`${onlyCorruptMessage(where, corrupt)}; delete or replace them, or pass --auto-resume=fresh-ok to start from scratch`, { code: 'CORRUPT_CHECKPOINT' });
        }
        logger.warning(`${onlyCorruptMessage(where, corrupt)}; --auto-resume=fresh-ok: ${cfgResume ? `resume_from ${cfgResume} of the config` : 'starting from scratch'}`);
      } else logger.info(`auto-resume: no valid checkpoint in ${where}, ${cfgResume ? `resume_from ${cfgResume} of the config` : 'starting from scratch'}`);
    }
    // MMSelfSup: a checkpoint auto-resume finds wins over the config's resume_from; --resume-from over both
    if (!resumeFrom && !args.resumeFrom && cfgResume) {
      resumeWhat = 'resume_from';
      const st = storage;
      resumeFrom = st ? await fetch('resume_from', cfgResume, () => st.fetchIfRemote(cfgResume, workDir, s3opts)) : cfgResume;
      logger.info(`resume_from (config): ${cfgResume}`);
    }
    const loadWhat = args.loadFrom ? '--load-from' : 'load_from';
    // a PyTorch .pth (MMSelfSup's checkpoints) is checked by reading its pickle; an ssl file by its header
    const resumePth = resumeFrom !== undefined && looksLikeZip(resumeFrom);
    const resumeHeader = resumeFrom && !resumePth ? checkCheckpointFile(resumeFrom, resumeWhat, { needMeta: true }) : undefined;
    const resumePthMeta = resumePth ? await checkTorchCheckpointFile(resumeFrom!, resumeWhat, { needMeta: true }) : undefined;
    let loadPath: string | undefined;
    if (!resumeFrom && loadFrom) {
      const st = storage;
      loadPath = st ? await fetch(loadWhat, loadFrom, () => st.fetchIfRemote(loadFrom, workDir, s3opts)) : loadFrom;
      if (looksLikeZip(loadPath!)) await checkTorchCheckpointFile(loadPath!, loadWhat);
      else checkCheckpointFile(loadPath!, loadWhat);
    }
    const resumeSeed = args.seed !== undefined ? undefined : resumeHeader ? (JSON.parse(resumeHeader.metadata.meta!) as { seed?: number }).seed : (resumePthMeta?.seed as number | undefined);

    const { setupTraining } = await import('./setup.js');
    const cfgSeed = typeof cfg.seed === 'number' ? cfg.seed : undefined;
    const setup = await setupTraining({ args, cfg, sourceOf, workDir, timestamp, logger, dist, seed: args.seed ?? resumeSeed ?? cfgSeed });
    runner = setup.runner;
    loaders = setup.loaders;
    closers = setup.closers;
    if (resumeFrom) {
      if (resumeHeader) checkSameArchitecture(resumeFrom, resumeWhat, resumeHeader, runner.model);
      await runner.loadCheckpoint(resumeFrom, { resume: true, what: resumeWhat });
    } else if (loadPath) await runner.loadCheckpoint(loadPath, { resume: false, what: loadWhat });

    // the inputs are good: from here on the run writes to its work dir
    started = true;
    mkdirSync(workDir, { recursive: true });
    if (dist.rank === 0) removeStaleTemps(workDir);
    logger.openFile();
    if (s3 && dist.rank === 0) await s3.uploadMissing();
    const sync = s3;
    if (sync && dist.rank === 0) {
      const logs = () => [args.config, join(workDir, `${timestamp}.log`), join(workDir, `${timestamp}.log.json`)].filter((p) => existsSync(p));
      for (const h of runner.hooks) {
        if (h instanceof CheckpointHook) {
          h.onSaved = async (p) => {
            await sync.afterCheckpoint(p);
            sync.syncFiles(logs());
          };
          h.mayDelete = (p) => sync.mayDeleteLocal(p);
        }
      }
      runner.signalCheckpointListeners.push(async (p) => {
        await sync.afterCheckpoint(p);
        sync.syncFiles(logs());
      });
    }

    const r = runner;
    const onSignal = (signal: NodeJS.Signals) => {
      const checkpoint = signal === 'SIGUSR1' || (signal === 'SIGTERM' && args.checkpointOnSignal);
      if (r.stopRequest) {
        if (signal === 'SIGINT') process.exit(EXIT.SIGINT);
        return;
      }
      r.stopRequest = (checkpoint ? { kind: 'checkpoint', signal } : { kind: 'abort', signal }) as StopRequest;
      const when = r.worldSize > 1 ? 'this or the next iteration, with the other ranks' : 'this iteration';
      r.logger.warning(`${signal} received: stopping at the end of ${when}${checkpoint ? ' after writing a checkpoint' : ''}`);
    };
    for (const s of ['SIGINT', 'SIGTERM', 'SIGUSR1'] as NodeJS.Signals[]) {
      const h = () => onSignal(s);
      process.on(s, h);
      handlers.push([s, h]);
    }
    await runner.run(setup.loaders, workflowOf(cfg));
    const evalFiles: string[] = [];
    if (args.evalResult && dist.rank === 0) {
      const { finishEvaluation } = await import('./eval-finish.js');
      evalFiles.push(await finishEvaluation({ runner, setup, cfg, args, workDir, startedAt }));
    }
    if (s3 && dist.rank === 0) {
      s3.syncFiles([args.config, join(workDir, `${timestamp}.log`), join(workDir, `${timestamp}.log.json`), ...evalFiles].filter((p) => existsSync(p)));
      const summary = await s3.finish();
      s3 = undefined;
      if (!summary.ok) return EXIT.UPLOAD_FAILED;
    }
    return EXIT.OK;
  } catch (e) {
    const log = (msg: string) => (logger ? logger.error(msg) : process.stderr.write(`Error: ${msg}\n`));
    if (e instanceof StoppedError) {
      const code = e.request.kind === 'checkpoint' ? EXIT.CHECKPOINTED : e.request.signal === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM;
      log(`stopped by ${e.request.signal} at iteration ${runner?.iter ?? 0}; exit code ${code}`);
      return code;
    }
    if (e instanceof NanLossError) {
      log(e.message);
      return EXIT.NAN_LOSS;
    }
    if (isSslError(e)) {
      if (process.argv.includes('--debug') || process.env.SSL_DEBUG) process.stderr.write(`${e.stack}\n`);
      log(e.message);
      if (!started) {
        for (const p of downloaded) rmSync(p, { force: true });
        cleanWorkDir?.();
      }
      return e.exitCode;
    }
    log(`${(e as Error).stack ?? String(e)}`);
    return EXIT.UNEXPECTED;
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
    // uploads already queued still complete (a stopped or failed run keeps its checkpoints on S3)
    if (s3 && dist?.rank === 0) await s3.finish().catch(() => undefined);
    for (const l of loaders) await l.close?.().catch(() => {});
    for (const c of closers) await c().catch(() => {});
    await dist?.close().catch(() => {});
  }
}
