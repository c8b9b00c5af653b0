/**
 * Data loader worker thread: rebuilds the dataset from its config, then turns `load` requests
 * (epoch, indices) into collated batches, transferred back without copying.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SslError } from '../errors.js';
import { batchBuffers } from './collate.js';
import { setDataLog } from './datasets/base.js';
import { buildDataset } from './datasets/index.js';
import { loadBatch } from './loader.js';
import type { Dataset } from './types.js';

const port = parentPort!;
const { cfg, seed, backendModules } = workerData as { cfg: Record<string, unknown>; seed: number; backendModules: string[] };
setDataLog((msg) => port.postMessage({ type: 'log', msg }));

const errorOf = (e: unknown) => ({ message: (e as Error).message ?? String(e), code: e instanceof SslError ? e.code : undefined });

let dataset: Dataset;
try {
  for (const m of backendModules) await import(m);
  dataset = await buildDataset(cfg);
  port.postMessage({ type: 'ready' });
} catch (e) {
  port.postMessage({ type: 'init-error', error: errorOf(e) });
}

// Requests are handled one at a time, in order (a worker's batches come back in request order).
let chain: Promise<void> = Promise.resolve();
port.on('message', (m: { type: string; id: number; epoch: number; indices: number[]; state?: Record<string, unknown> }) => {
  chain = chain.then(async () => {
    if (m.type === 'state') {
      (dataset as { setState?: (s: Record<string, unknown>) => void }).setState?.(m.state!);
      return;
    }
    try {
      const batch = await loadBatch(dataset, m.indices, seed, m.epoch);
      port.postMessage({ type: 'batch', id: m.id, batch }, batchBuffers(batch));
    } catch (e) {
      port.postMessage({ type: 'error', id: m.id, error: errorOf(e) });
    }
  });
});
