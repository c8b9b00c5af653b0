import { SslError } from '../errors.js';
import { checkCheckpointFile, checkSameArchitecture, checkTorchCheckpointFile, onlyCorruptMessage, scanCheckpoints } from './checkpoint-check.js';
import { looksLikeZip } from '../engine/pth/zip-archive.js';
import { checkWorkflow, workflowOf } from './epoch-runner.js';
import { singleProcessContext } from '../dist/trainer-context.js';
import { Logger, runTimestamp } from './logging/logger.js';
import type { WorkerArgs } from './worker-args.js';

export interface DryRunOptions {
  cfg: Record<string, unknown>;
  sourceOf: (key: string) => string | undefined;
  args: WorkerArgs;
  /** Where the log lines go (stderr: stdout is the printed request). */
  write?: (line: string) => void;
}

/**
 * `ssl train --dry-run` (launchers none and local): everything a real run builds before its first
 * step — custom imports, model (with Pretrained weights), data pipeline and one batch, optimizer,
 * hooks, the weights of resume_from/load_from — in this process, so it fails with the same error.
 * Nothing is trained, and nothing is written (no work dir, no log, no download).
 */
export async function dryRunTraining(o: DryRunOptions): Promise<string> {
  const { cfg, args } = o;
  const logger = new Logger(undefined, 0, 'mmselfsup', o.write ?? ((l) => process.stderr.write(l)));
  const { setupTraining } = await import('./setup.js');
  const cfgSeed = typeof cfg.seed === 'number' ? cfg.seed : undefined;
  const setup = await setupTraining({
    args, cfg, sourceOf: o.sourceOf, workDir: args.workDir, timestamp: runTimestamp(), logger, dist: singleProcessContext(), seed: args.seed ?? cfgSeed, dryRun: true,
  });
  try {
    const { runner, loaders } = setup;
    const remote = (p: string) => p.startsWith('s3://');
    const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
    const scan = args.autoResume && !args.resumeFrom && !args.s3 ? scanCheckpoints(args.workDir) : undefined;
    if (scan && !scan.latest && scan.corrupt.length > 0 && !args.autoResumeFreshOk) {
      throw new SslError(`${onlyCorruptMessage(args.workDir, scan.corrupt)}; delete or replace them, or pass --auto-resume=fresh-ok to start from scratch`, { code: 'CORRUPT_CHECKPOINT' });
    }
    const latest = scan?.latest;
    const resume = args.resumeFrom ?? latest ?? str(cfg.resume_from);
    const what = args.resumeFrom ? '--resume-from' : latest ? '--auto-resume' : 'resume_from';
    const load = args.loadFrom ?? str(cfg.load_from);
    if (resume && !remote(resume)) {
      if (looksLikeZip(resume)) await checkTorchCheckpointFile(resume, what, { needMeta: true });
      else checkSameArchitecture(resume, what, checkCheckpointFile(resume, what, { needMeta: true }), runner.model);
      await runner.loadCheckpoint(resume, { resume: true, what });
    } else if (!resume && load && !remote(load)) await runner.loadCheckpoint(load, { resume: false, what: args.loadFrom ? '--load-from' : 'load_from' });
    else if (resume ?? load) logger.info(`--dry-run: ${resume ?? load} is on S3 and is not downloaded`);
    // the runner's own check of the workflow, done before its first epoch
    const workflow = workflowOf(cfg);
    checkWorkflow(workflow, loaders, runner.byEpoch);
    const loader = loaders[Math.max(0, workflow.findIndex(([m]) => m === 'train'))];
    let shape = '';
    for await (const batch of loader.epoch(0)) {
      shape = batch.views.map((v) => `[${v.shape.join(', ')}]`).join(' + ');
      break;
    }
    const params = runner.model.namedParameters().reduce((n, [, v]) => n + v.size, 0);
    const summary = `--dry-run: built ${String((cfg.model as { type?: string }).type)} (${params} parameters), ${loader.length} batches per epoch (first batch ${shape}); nothing trained, nothing written`;
    logger.info(summary);
    return summary;
  } finally {
    for (const l of setup.loaders) await l.close?.().catch(() => {});
    for (const c of setup.closers) await c().catch(() => {});
    (setup.runner.model as { dispose?: () => void }).dispose?.();
  }
}
