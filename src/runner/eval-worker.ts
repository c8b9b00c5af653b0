import { dirname, resolve } from 'node:path';
import type { DistContext } from '../dist/trainer-context.js';
import { fileSha256, writeEvalResult } from '../eval/result.js';
import type { WorkerArgs } from './worker-args.js';

type Cfg = Record<string, unknown>;

/**
 * The worker's evaluation mode (`ssl eval knn|svm --launcher ...`; MMSelfSup's dist_test_knn.sh / dist_test_svm.sh):
 * every rank loads the same weights and extracts the features of its share of the images, the rows are all-gathered,
 * rank 0 runs kNN or trains the SVMs and writes `--eval-result`. Returns the exit code (errors propagate to `runWorker`).
 */
export async function runEvalWorker(o: { args: WorkerArgs; cfg: Cfg; dist: DistContext; workDir: string; startedAt: number }): Promise<number> {
  const { args, cfg, dist } = o;
  const ev = args.eval!;
  const resultPath = resolve(args.evalResult!);
  const log = (m: string) => {
    if (dist.rank === 0) process.stderr.write(`${m}\n`);
  };
  const configFile = typeof cfg.filename === 'string' ? cfg.filename : args.config;
  const { importCustomModules } = await import('./registries.js');
  for (const w of (await importCustomModules(cfg.custom_imports, dirname(configFile))).warnings) log(`Warning: ${w}`);

  const s3opts = { endpoint: args.s3Endpoint };
  let checkpoint = ev.checkpoint;
  if (checkpoint?.startsWith('s3://')) {
    const { fetchIfRemote } = await import('../storage/run-sync.js');
    checkpoint = await fetchIfRemote(checkpoint, o.workDir, s3opts);
  }
  const common = { backend: args.backend, threads: args.threads, seed: args.seed, log, dist };
  log(`ssl eval ${ev.kind}: ${dist.worldSize} rank(s), each extracting its share of the images`);
  if (ev.kind === 'knn') {
    const { evaluateKnn } = await import('../eval/knn.js');
    const r = await evaluateKnn(cfg, { ...common, checkpoint, k: ev.k, temperature: ev.temperature });
    if (r) {
      writeEvalResult(resultPath, {
        name: 'knn', metric: 'knn_top1', value: r.top1, results: { ...r },
        config: configFile, checkpoint: ev.checkpoint ?? null, checkpoint_sha256: await fileSha256(checkpoint),
        wall_seconds: (performance.now() - o.startedAt) / 1000, world_size: dist.worldSize, created: new Date().toISOString(),
      });
    }
  } else {
    const { evaluateSvm } = await import('../eval/svm/run.js');
    // the result sits in ROOT/eval/<name>.json; the VOC lists go to ROOT/eval/svm/ as `ssl eval svm` writes them
    const root = dirname(dirname(resultPath));
    await evaluateSvm(cfg, {
      ...common, seed: args.seed ?? 0, checkpoint, features: ev.features, lowShot: ev.lowShot, costs: ev.costs, voc: ev.voc, trainLimit: ev.trainLimit, saveFeatures: ev.saveFeatures,
      workDir: root, resultPath, config: configFile,
    });
  }
  if (dist.rank === 0) {
    log(`-> ${resultPath}`);
    if (args.s3) {
      const storage = await import('../storage/run-sync.js');
      const s3 = await storage.S3RunSync.open({ uri: args.s3, endpoint: args.s3Endpoint, workDir: o.workDir, log });
      s3.syncFiles([resultPath]);
      const summary = await s3.finish();
      if (!summary.ok) return 4;
    }
  }
  // every rank leaves together: the job ends when rank 0 has written the result
  await dist.barrier();
  return 0;
}
