import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ConfigError, SslError } from '../errors.js';
import { collate } from './collate.js';
import { setDataLog } from './datasets/base.js';
import { fileBackendModules } from './file-client.js';
import { Rng, seedOf } from './rng.js';
import { DistributedSampler } from './sampler.js';
import type { Batch, DataLoader, DataLoaderOptions, Dataset } from './types.js';

/** The random generator of sample `idx` in `epoch`: augmentations do not depend on workers or order. */
export function sampleRng(seed: number, epoch: number, idx: number): Rng {
  return new Rng(seedOf(seed, epoch, idx));
}

/** Loads batch `indices` in the calling thread (decodes concurrently through sharp's thread pool). */
export async function loadBatch(dataset: Dataset, indices: number[], seed: number, epoch: number): Promise<Batch> {
  const samples = await Promise.all(indices.map((i) => dataset.getItem(i, sampleRng(seed, epoch, i))));
  return collate(samples);
}

/** Where the compiled worker script lives (under jest the sources run from src/, the worker from lib/). */
function workerUrl(): URL {
  const here = import.meta.url;
  if (here.endsWith('.js')) return new URL('./loader-worker.js', here);
  const path = fileURLToPath(here).replace(/([\\/])src([\\/])data([\\/])loader\.ts$/, '$1lib$1src$2data$3loader-worker.js');
  if (!existsSync(path)) throw new SslError(`loader worker ${path} is missing; run npm run build (workers run compiled code)`);
  return pathToFileURL(path);
}

interface Pending {
  resolve(b: Batch): void;
  reject(e: Error): void;
}

/** A worker thread that rebuilds the dataset from its config and makes whole batches. */
class LoaderWorker {
  readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure?: Error;
  readonly ready: Promise<void>;

  constructor(dataset: Dataset, seed: number, log: (m: string) => void) {
    this.worker = new Worker(workerUrl(), {
      workerData: { cfg: dataset.cfg, seed, backendModules: fileBackendModules() },
    });
    this.worker.unref();
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    this.ready.catch(() => undefined);
    this.worker.on('message', (m: { type: string; id?: number; batch?: Batch; error?: { message: string; code?: string }; msg?: string }) => {
      if (m.type === 'ready') readyResolve();
      else if (m.type === 'log') log(m.msg!);
      else if (m.type === 'batch' || m.type === 'error') {
        const p = this.pending.get(m.id!);
        if (!p) return;
        this.pending.delete(m.id!);
        if (m.type === 'batch') p.resolve(m.batch!);
        else p.reject(new SslError(m.error!.message, { code: m.error!.code }));
      } else if (m.type === 'init-error') {
        readyReject(new SslError(m.error!.message, { code: m.error!.code }));
      }
    });
    const die = (e: Error) => {
      this.failure = e;
      readyReject(e);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => {
      if (code !== 0) die(new SslError(`a data loader worker exited with code ${code}`));
    });
  }

  setState(state: Record<string, unknown>): void {
    this.worker.postMessage({ type: 'state', state });
  }

  load(epoch: number, indices: number[]): Promise<Batch> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'load', id, epoch, indices });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/**
 * A loader over `dataset` (MMSelfSup `build_dataloader`): distributed sampling (PyTorch padding
 * semantics), batches of `samplesPerGpu`, `workersPerGpu` worker threads each preparing
 * `prefetchFactor` batches ahead, batches in order.
 * @throws ConfigError for an empty dataset, or a batch larger than this rank's share with dropLast.
 */
export function buildDataLoader(dataset: Dataset, o: DataLoaderOptions): DataLoader {
  const bs = o.samplesPerGpu;
  if (!(Number.isInteger(bs) && bs >= 1)) throw new ConfigError(`samples_per_gpu must be a positive integer, got ${bs}`);
  if (dataset.length === 0) throw new ConfigError(`the ${dataset.type} dataset is empty`);
  const seed = o.seed ?? 0;
  const workers = o.workersPerGpu ?? 0;
  const prefetch = Math.max(1, o.prefetchFactor ?? 2);
  const persistent = o.persistentWorkers ?? true;
  const log = o.log ?? ((m: string) => console.warn(m));
  setDataLog(log);
  const sampler = new DistributedSampler(dataset.length, { rank: o.rank, worldSize: o.worldSize, shuffle: o.shuffle ?? true, seed, replace: o.replace });
  const perRank = sampler.numSamples;
  const dropLast = o.dropLast ?? false;
  const length = dropLast ? Math.floor(perRank / bs) : Math.ceil(perRank / bs);
  if (length === 0) {
    throw new ConfigError(`samples_per_gpu ${bs} is larger than the ${perRank} samples per process (${dataset.length} in the dataset over ${sampler.worldSize} processes) with drop_last; lower samples_per_gpu or set drop_last false`);
  }
  if (workers > 0 && !dataset.cfg) throw new ConfigError('workers_per_gpu > 0 needs a dataset built by buildDataset (workers rebuild it from its config)');
  let pool: LoaderWorker[] | undefined;
  const getPool = async () => {
    if (!pool) {
      pool = Array.from({ length: workers }, () => new LoaderWorker(dataset, seed, log));
      await Promise.all(pool.map((w) => w.ready));
    }
    return pool;
  };
  const closePool = async () => {
    const p = pool;
    pool = undefined;
    if (p) await Promise.all(p.map((w) => w.close()));
  };

  return {
    length,
    batchSize: bs,
    dataset,
    sampler,
    async *epoch(epoch: number): AsyncIterable<Batch> {
      const idx = sampler.indices(epoch);
      const batches = Array.from({ length }, (_, b) => idx.slice(b * bs, (b + 1) * bs));
      if (workers === 0) {
        for (const b of batches) yield await loadBatch(dataset, b, seed, epoch);
        return;
      }
      const ws = await getPool();
      const state = (dataset as { getState?: () => Record<string, unknown> }).getState?.();
      if (state) for (const w of ws) w.setState(state);
      const inflight: Promise<Batch>[] = [];
      let sent = 0;
      const fill = () => {
        while (sent < batches.length && inflight.length < workers * prefetch) {
          const p = ws[sent % workers].load(epoch, batches[sent]);
          p.catch(() => undefined);
          inflight.push(p);
          sent++;
        }
      };
      try {
        fill();
        for (let b = 0; b < batches.length; b++) {
          const batch = await inflight.shift()!;
          fill();
          yield batch;
        }
      } finally {
        if (!persistent) await closePool();
      }
    },
    close: closePool,
  };
}
