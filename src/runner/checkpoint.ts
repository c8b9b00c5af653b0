import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeSync, mkdirSync, fstatSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SslError } from '../errors.js';
import { tf, type Tensor } from '../engine/tf.js';
import type { TorchLayout } from '../engine/module.js';
import type { Optimizer, OptimizerState } from './optim/optimizer.js';
import type { TrainableModel } from '../models/contracts.js';
import { readTorchMeta } from '../engine/pth/checkpoint-file.js';
import { looksLikeZip } from '../engine/pth/zip-archive.js';
import { decodeContainer, encodeContainer, readContainerHeader, type RawTensor } from './checkpoint-container.js';

/** The `meta` JSON of a checkpoint. */
export interface CheckpointMeta {
  epoch: number;
  iter: number;
  /** Batches done in `epoch` (signal checkpoints only; the next run skips them). */
  inner_iter?: number;
  seed?: number;
  config?: unknown;
  backend?: string;
  versions?: Record<string, string>;
  exp_name?: string;
  time?: string;
  optimizer?: OptimizerState['meta'];
  /** Layout of `state_dict.*` tensors: PyTorch's (OIHW conv, out×in linear). */
  layout?: 'pytorch';
  [key: string]: unknown;
}

export interface LoadedCheckpoint {
  meta: CheckpointMeta;
  /** Model state in TF.js layout. */
  stateDict: Map<string, Tensor>;
  optimizer: OptimizerState | undefined;
  dispose(): void;
}

export const LATEST = 'latest.ckpt';
const CKPT_RE = /^(epoch|iter)_(\d+)\.ckpt$/;

/** A checkpoint file that cannot be read (truncated, not a checkpoint). */
export class CorruptCheckpointError extends SslError {
  constructor(message: string) {
    super(message, { code: 'CORRUPT_CHECKPOINT' });
  }
}

/** TF.js layout -> PyTorch layout (conv HWIO -> OIHW, linear in×out -> out×in). */
function toTorch(t: Tensor, layout: TorchLayout): Tensor {
  if (layout === 'conv') return tf.transpose(t, [3, 2, 0, 1]);
  if (layout === 'linear') return tf.transpose(t, [1, 0]);
  return t;
}

function fromTorch(t: Tensor, layout: TorchLayout): Tensor {
  if (layout === 'conv') return tf.transpose(t, [2, 3, 1, 0]);
  if (layout === 'linear') return tf.transpose(t, [1, 0]);
  return t;
}

function raw(t: Tensor): RawTensor {
  const data = t.dataSync();
  if (t.dtype === 'float32') return { dtype: 'F32', shape: t.shape, data: data as Float32Array };
  if (t.dtype === 'int32' || t.dtype === 'bool') return { dtype: 'I32', shape: t.shape, data: Int32Array.from(data as Int32Array) };
  throw new SslError(`cannot store a ${t.dtype} tensor in a checkpoint`);
}

export function layoutsOf(model: TrainableModel): Map<string, TorchLayout> {
  const m = model as TrainableModel & { stateDictLayouts?: () => Map<string, TorchLayout> };
  return m.stateDictLayouts ? m.stateDictLayouts() : new Map();
}

/** Encodes model (PyTorch layout), optimizer slots (TF.js layout) and meta into one container. */
export function encodeCheckpoint(model: TrainableModel, optimizer: Optimizer | undefined, meta: CheckpointMeta): Uint8Array {
  const tensors = new Map<string, RawTensor>();
  const layouts = layoutsOf(model);
  const aliases = (model as { stateDictAliases?: () => Record<string, string> }).stateDictAliases?.() ?? {};
  for (const [name, t] of model.stateDict()) {
    const conv = tf.tidy(() => toTorch(t, layouts.get(name) ?? 'same'));
    const r = raw(conv);
    tensors.set(`state_dict.${name}`, r);
    for (const [alias, target] of Object.entries(aliases)) {
      if (name.startsWith(`${target}.`)) tensors.set(`state_dict.${alias}${name.slice(target.length)}`, r);
    }
    if (conv !== t) conv.dispose();
  }
  const fullMeta: CheckpointMeta = { ...meta, layout: 'pytorch', ...(Object.keys(aliases).length > 0 ? { state_dict_aliases: aliases } : {}) };
  if (optimizer) {
    const st = optimizer.stateDict();
    for (const [name, t] of st.tensors) tensors.set(`optimizer.${name}`, raw(t));
    fullMeta.optimizer = st.meta;
  }
  return encodeContainer(tensors, { meta: JSON.stringify(fullMeta), format: 'ssl-checkpoint' });
}

/** Writes `bytes` to `path` atomically: temp file in the same directory, fsync, rename, fsync dir. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}`);
  const fd = openSync(tmp, 'w');
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dir);
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some filesystems cannot fsync directories; the rename is still atomic
  }
}

/** Points `<dir>/latest.ckpt` at `name` (a relative symlink, swapped atomically; a copy where links fail). */
export function updateLatest(dir: string, name: string): void {
  const link = join(dir, LATEST);
  const tmp = join(dir, `.${LATEST}.tmp-${process.pid}`);
  try {
    if (existsSync(tmp)) unlinkSync(tmp);
    symlinkSync(name, tmp);
    renameSync(tmp, link);
  } catch {
    writeFileAtomic(link, readFileSync(join(dir, name)));
  }
}

/** Saves a checkpoint as `<dir>/<name>` atomically; returns its path. */
export async function writeCheckpoint(
  dir: string,
  name: string,
  parts: { model: TrainableModel; optimizer?: Optimizer; meta: CheckpointMeta; latest?: boolean },
): Promise<string> {
  const bytes = encodeCheckpoint(parts.model, parts.optimizer, { ...parts.meta, time: new Date().toISOString() });
  const path = join(dir, name);
  writeFileAtomic(path, bytes);
  if (parts.latest !== false) updateLatest(dir, name);
  return path;
}

/** Reads a checkpoint: state dict converted to TF.js layout needs the model's layouts, so it is done on load. */
export async function readCheckpoint(path: string, layouts?: Map<string, TorchLayout>): Promise<LoadedCheckpoint> {
  if (!existsSync(path)) throw new SslError(`checkpoint ${path} does not exist`, { code: 'NO_CHECKPOINT' });
  let decoded;
  try {
    decoded = decodeContainer(new Uint8Array(readFileSync(path)));
  } catch (e) {
    throw new CorruptCheckpointError(`${path} is not a readable checkpoint (${(e as Error).message})`);
  }
  const metaText = decoded.metadata.meta;
  if (!metaText) throw new CorruptCheckpointError(`${path} has no "meta" (not an ssl checkpoint)`);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(metaText) as CheckpointMeta;
  } catch {
    throw new CorruptCheckpointError(`${path} is corrupt: its "meta" is not valid JSON`);
  }
  const stateDict = new Map<string, Tensor>();
  const optTensors = new Map<string, Tensor>();
  const torchLayout = meta.layout === 'pytorch';
  const aliasPrefixes = Object.keys((meta.state_dict_aliases as Record<string, string> | undefined) ?? {}).map((a) => `state_dict.${a}.`);
  for (const [key, r] of decoded.tensors) {
    if (aliasPrefixes.some((p) => key.startsWith(p))) continue;
    const t = r.dtype === 'F32' ? tf.tensor(r.data as Float32Array, [...r.shape], 'float32') : tf.tensor(r.data as Int32Array, [...r.shape], 'int32');
    if (key.startsWith('state_dict.')) {
      const name = key.slice('state_dict.'.length);
      let layout = layouts?.get(name) ?? guessLayout(t);
      if (!torchLayout) layout = 'same';
      const conv = fromTorch(t, layout);
      if (conv !== t) t.dispose();
      stateDict.set(name, conv);
    } else if (key.startsWith('optimizer.')) {
      optTensors.set(key.slice('optimizer.'.length), t);
    } else t.dispose();
  }
  const optimizer = meta.optimizer ? { tensors: optTensors, meta: meta.optimizer } : undefined;
  return {
    meta,
    stateDict,
    optimizer,
    dispose() {
      for (const t of stateDict.values()) t.dispose();
      for (const t of optTensors.values()) t.dispose();
    },
  };
}

/** Without the model's layout table: 4-D = conv, 2-D = linear (true of every ssl model). */
function guessLayout(t: Tensor): TorchLayout {
  return t.rank === 4 ? 'conv' : t.rank === 2 ? 'linear' : 'same';
}

/** True when the file is a complete checkpoint (header parses and the data size matches). */
export function isValidCheckpoint(path: string): boolean {
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const head = Buffer.alloc(Math.min(size, 8));
      readSync(fd, head, 0, head.length, 0);
      if (head.length < 8) return false;
      const n = Number(head.readBigUInt64LE(0));
      if (n <= 0 || 8 + n > size) return false;
      const hdr = Buffer.alloc(n);
      readSync(fd, hdr, 0, n, 8);
      const info = readContainerHeader(new Uint8Array(hdr));
      return 8 + n + info.dataLength === size && typeof info.metadata.meta === 'string';
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** The meta of a checkpoint ssl wrote or of a PyTorch `.pth` (MMSelfSup's `meta`). */
export async function readAnyCheckpointMeta(path: string): Promise<CheckpointMeta> {
  return looksLikeZip(path) ? ((await readTorchMeta(path)) as CheckpointMeta) : readCheckpointMeta(path);
}

/** Reads only the meta of a checkpoint (cheap: header only). */
export function readCheckpointMeta(path: string): CheckpointMeta {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(8);
    readSync(fd, head, 0, 8, 0);
    const n = Number(head.readBigUInt64LE(0));
    const hdr = Buffer.alloc(n);
    readSync(fd, hdr, 0, n, 8);
    return JSON.parse(readContainerHeader(new Uint8Array(hdr)).metadata.meta) as CheckpointMeta;
  } finally {
    closeSync(fd);
  }
}

/**
 * The newest complete checkpoint in `dir` (by meta iter, then mtime), skipping temp files and
 * truncated or unreadable ones; undefined when none.
 */
export function findLatestCheckpoint(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const candidates: { path: string; iter: number; mtime: number }[] = [];
  for (const f of readdirSync(dir)) {
    if (!CKPT_RE.test(f)) continue;
    const path = join(dir, f);
    if (!isValidCheckpoint(path)) continue;
    const meta = readCheckpointMeta(path);
    candidates.push({ path, iter: meta.iter ?? 0, mtime: statSync(path).mtimeMs });
  }
  candidates.sort((a, b) => b.iter - a.iter || b.mtime - a.mtime);
  return candidates[0]?.path;
}

/** Removes temp files a killed writer left behind (`.<name>.tmp-<pid>`). */
export function removeStaleTemps(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const f of readdirSync(dir)) {
    if (/^\..+\.tmp-\d+$/.test(f)) {
      const pid = Number(f.slice(f.lastIndexOf('-') + 1));
      if (pid === process.pid || isAlive(pid)) continue;
      rmSync(join(dir, f), { force: true });
      removed.push(f);
    }
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
