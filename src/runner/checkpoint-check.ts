/**
 * Checks of a checkpoint before anything is built or written: the file exists, is a file, is a
 * complete ssl container (header and data sizes agree), and — once the model is built — holds
 * tensors of this model's shapes. Every failure is one line naming the setting, the path and what
 * is wrong (exit 2).
 */
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SslError } from '../errors.js';
import type { TorchLayout } from '../engine/module.js';
import { readContainerHeader } from './checkpoint-container.js';
import { readPth } from '../engine/pth/read-pth.js';
import { PyDict } from '../engine/pth/unpickler.js';
import type { TrainableModel } from '../models/contracts.js';

/** Names of the checkpoints the runner writes (`epoch_N.ckpt`, `iter_N.ckpt`). */
export const CHECKPOINT_FILE = /^(epoch|iter)_(\d+)\.ckpt$/;

/** A complete container's header: tensor shapes by name and its metadata. */
export interface CheckpointHeader {
  shapes: Map<string, number[]>;
  metadata: Record<string, string>;
}

/** A checkpoint (or weights) file that cannot be used; `code` tells which check failed. */
export class BadCheckpointError extends SslError {
  constructor(message: string, code: 'NO_CHECKPOINT' | 'CORRUPT_CHECKPOINT' | 'CHECKPOINT_MISMATCH') {
    super(message, { code });
  }
}

/**
 * The header of a complete checkpoint file, or what is wrong with the file (a phrase that follows
 * its path: "does not exist", "is a directory ...", "is truncated ...").
 */
export function inspectCheckpoint(path: string): { header: CheckpointHeader } | { problem: string; code: 'NO_CHECKPOINT' | 'CORRUPT_CHECKPOINT' } {
  if (!existsSync(path)) return { problem: 'does not exist', code: 'NO_CHECKPOINT' };
  if (statSync(path).isDirectory()) {
    const inside = readdirSync(path).filter((f) => CHECKPOINT_FILE.test(f) || f === 'latest.ckpt');
    const hint = inside.includes('latest.ckpt') ? join(path, 'latest.ckpt') : inside.length > 0 ? join(path, inside.sort().at(-1)!) : undefined;
    return { problem: `is a directory, not a checkpoint file${hint ? ` (did you mean ${hint}?)` : ''}`, code: 'NO_CHECKPOINT' };
  }
  const corrupt = (problem: string) => ({ problem, code: 'CORRUPT_CHECKPOINT' as const });
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < 8) return corrupt(`is not a checkpoint: ${size} bytes, shorter than the 8-byte header length (truncated?)`);
    const head = Buffer.alloc(8);
    readSync(fd, head, 0, 8, 0);
    const n = Number(head.readBigUInt64LE(0));
    if (n <= 1 || 8 + n > size) {
      // a sane header length that runs past the end is a cut-off file; anything else was never a checkpoint
      return corrupt(n > 1 && n < 1e8 ? `is truncated: its header needs ${8 + n} bytes, the file has ${size}` : 'is not an ssl checkpoint (no safetensors header)');
    }
    const bytes = Buffer.alloc(n);
    readSync(fd, bytes, 0, n, 8);
    let info: ReturnType<typeof readContainerHeader>;
    try {
      info = readContainerHeader(new Uint8Array(bytes));
    } catch {
      return corrupt('is corrupt: its header is not valid JSON (overwritten or not an ssl checkpoint)');
    }
    const expected = 8 + n + info.dataLength;
    if (size < expected) return corrupt(`is truncated: ${size} of ${expected} bytes`);
    if (size > expected) return corrupt(`is corrupt: ${size - expected} bytes after the last tensor`);
    if (info.metadata.meta !== undefined) {
      try {
        JSON.parse(info.metadata.meta);
      } catch {
        return corrupt('is corrupt: its "meta" is not valid JSON');
      }
    }
    return { header: { shapes: new Map([...info.entries].map(([k, e]) => [k, e.shape])), metadata: info.metadata } };
  } catch (e) {
    return corrupt(`cannot be read (${(e as Error).message})`);
  } finally {
    closeSync(fd);
  }
}

/**
 * The header of a usable checkpoint file.
 * @param what the setting that named it (`--resume-from`, `load_from`, `--checkpoint`).
 * @param needMeta resuming needs the training state (`meta`); weights files may lack it.
 * @throws BadCheckpointError one line: `<what>: <path> <problem>`.
 */
export function checkCheckpointFile(path: string, what: string, opts: { needMeta?: boolean } = {}): CheckpointHeader {
  const r = inspectCheckpoint(path);
  if ('problem' in r) throw new BadCheckpointError(`${what}: ${path} ${r.problem}`, r.code);
  if (opts.needMeta && r.header.metadata.meta === undefined) {
    throw new BadCheckpointError(`${what}: ${path} has no training state ("meta"): it is a weights file (ssl model publish / extract-backbone); use --load-from for it`, 'CORRUPT_CHECKPOINT');
  }
  return r.header;
}

/**
 * The check of a PyTorch `.pth` (MMSelfSup's checkpoints): its zip and pickle are read (the weights_only
 * allowlist; storages are checked when the weights are loaded); resuming needs its `meta`.
 * @returns the `meta` (empty when the file has none).
 * @throws BadCheckpointError one line: `<what>: <path>: <problem>`.
 */
export async function checkTorchCheckpointFile(path: string, what: string, opts: { needMeta?: boolean } = {}): Promise<Record<string, unknown>> {
  let root: unknown;
  try {
    root = await readPth(path, { pickleOnly: true });
  } catch (e) {
    throw new BadCheckpointError(`${what}: ${(e as Error).message}`, 'CORRUPT_CHECKPOINT');
  }
  const meta = root instanceof PyDict ? root.get('meta') : undefined;
  if (opts.needMeta && !(meta instanceof PyDict)) {
    throw new BadCheckpointError(`${what}: ${path} has no training state ("meta"): it is a state dict of weights; use --load-from for it`, 'CORRUPT_CHECKPOINT');
  }
  return meta instanceof PyDict ? Object.fromEntries([...meta].filter(([, v]) => typeof v !== 'object' || v === null).map(([k, v]) => [String(k), v])) : {};
}

/** The model's state tensors with PyTorch-layout shapes (what a checkpoint stores). */
export function torchShapes(model: TrainableModel): Map<string, number[]> {
  const layouts = (model as { stateDictLayouts?: () => Map<string, TorchLayout> }).stateDictLayouts?.() ?? new Map<string, TorchLayout>();
  const out = new Map<string, number[]>();
  for (const [name, t] of model.stateDict()) {
    const s = t.shape;
    const layout = layouts.get(name) ?? 'same';
    out.set(name, (layout === 'conv' ? [s[3], s[2], s[0], s[1]] : layout === 'linear' ? [s[1], s[0]] : [...s]) as number[]);
  }
  return out;
}

const fmt = (s: number[]) => `[${s.join(', ')}]`;

/**
 * For resuming (strict): the checkpoint's `state_dict.*` tensors must be this model's, name for name and
 * shape for shape. Names saved twice under an alias (`encoder_q.0.` = `backbone.`) are skipped.
 * @throws BadCheckpointError naming the first mismatching tensor and both shapes.
 */
export function checkSameArchitecture(path: string, what: string, header: CheckpointHeader, model: TrainableModel): void {
  let aliases: string[] = [];
  try {
    aliases = Object.keys((JSON.parse(header.metadata.meta ?? '{}') as { state_dict_aliases?: Record<string, string> }).state_dict_aliases ?? {});
  } catch {
    // inspectCheckpoint already rejected unreadable meta
  }
  const file = new Map<string, number[]>();
  for (const [k, s] of header.shapes) {
    if (!k.startsWith('state_dict.')) continue;
    const name = k.slice('state_dict.'.length);
    if (!aliases.some((a) => name.startsWith(`${a}.`))) file.set(name, s);
  }
  const other = `${what}: ${path} is a checkpoint of another model`;
  for (const [name, shape] of torchShapes(model)) {
    const theirs = file.get(name);
    if (!theirs) throw new BadCheckpointError(`${other}: it has no ${name} (this model's is ${fmt(shape)})`, 'CHECKPOINT_MISMATCH');
    if (theirs.length !== shape.length || theirs.some((d, i) => d !== shape[i])) {
      throw new BadCheckpointError(`${other}: ${name} is ${fmt(theirs)} there and ${fmt(shape)} in this model`, 'CHECKPOINT_MISMATCH');
    }
  }
  const own = new Set(torchShapes(model).keys());
  const extra = [...file.keys()].filter((k) => !own.has(k));
  if (extra.length > 0) {
    throw new BadCheckpointError(`${other}: it has ${extra[0]} ${fmt(file.get(extra[0])!)}${extra.length > 1 ? ` and ${extra.length - 1} more tensors` : ''}, which this model does not`, 'CHECKPOINT_MISMATCH');
  }
}

/**
 * What `--auto-resume` finds in a work dir: the newest complete checkpoint (by meta iter, then mtime)
 * and the checkpoint files that are not complete, each with its problem.
 */
export function scanCheckpoints(dir: string): { latest: string | undefined; corrupt: { path: string; problem: string }[] } {
  const corrupt: { path: string; problem: string }[] = [];
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return { latest: undefined, corrupt };
  const good: { path: string; iter: number; mtime: number }[] = [];
  for (const f of readdirSync(dir)) {
    if (!CHECKPOINT_FILE.test(f)) continue;
    const path = join(dir, f);
    const r = inspectCheckpoint(path);
    if ('problem' in r) {
      corrupt.push({ path, problem: r.problem });
      continue;
    }
    const metaText = r.header.metadata.meta;
    if (metaText === undefined) {
      corrupt.push({ path, problem: 'has no training state ("meta")' });
      continue;
    }
    const meta = JSON.parse(metaText) as { iter?: number };
    good.push({ path, iter: meta.iter ?? 0, mtime: statSync(path).mtimeMs });
  }
  good.sort((a, b) => b.iter - a.iter || b.mtime - a.mtime);
  return { latest: good[0]?.path, corrupt };
}

/**
 * The `--auto-resume` error when a work dir holds checkpoints and none is complete (or the note to log
 * with `--auto-resume=fresh-ok`, which starts from scratch instead).
 */
export function onlyCorruptMessage(where: string, corrupt: { path: string; problem: string }[]): string {
  const first = corrupt[0];
  return `--auto-resume: the ${corrupt.length === 1 ? 'only checkpoint' : `${corrupt.length} checkpoints`} in ${where} ${corrupt.length === 1 ? 'is' : 'are all'} unusable (${first.path} ${first.problem})`;
}
