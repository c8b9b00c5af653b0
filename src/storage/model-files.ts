import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { SslError } from '../errors.js';
import type { S3ClientOptions } from './client.js';
import { sha256Hex } from './digest.js';
import { readPathBytes, writePathBytes } from './path-io.js';
import { decodeSafetensors, encodeSafetensors, type RawTensor } from '../engine/safetensors.js';
import { pythonMeta, readTorchCheckpoint, withAliases } from '../engine/pth/checkpoint-file.js';
import { isPthTensor } from '../engine/pth/read-pth.js';
import { PyDict } from '../engine/pth/unpickler.js';
import { encodePth } from '../engine/pth/write-pth.js';
import { asSslDtype, asTorchDtype } from '../engine/pth/dtypes.js';
import { isS3Uri } from './uri.js';

type IoOptions = { client?: S3Client } & S3ClientOptions;

/** Output formats of `ssl model publish/extract-backbone/import`. */
export type WeightsFormat = 'pth' | 'safetensors';

/** `--format`, else by extension: `.pth`/`.pt` -> PyTorch's format, anything else -> safetensors (ssl's own). */
export function weightsFormatOf(out: string, format?: string): WeightsFormat {
  if (format !== undefined) {
    if (format !== 'pth' && format !== 'safetensors') throw new SslError(`--format must be pth or safetensors, got ${format}`, { code: 'BAD_FLAG' });
    return format;
  }
  return ['.pth', '.pt'].includes(extname(out).toLowerCase()) ? 'pth' : 'safetensors';
}

const isZip = (b: Uint8Array) => b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5);

/**
 * Weights of any input: a file ssl wrote (safetensors container) or a PyTorch `.pth`, in PyTorch names/layouts.
 * `state` has modules saved under two names under both (MMSelfSup's MoCo: `backbone.*` = `encoder_q.0.*`).
 */
interface WeightsContents {
  state: Map<string, RawTensor>;
  /** Second name -> kept name, as ssl checkpoints record them (`state_dict_aliases`). */
  aliases: Record<string, string>;
  meta: Record<string, unknown>;
  optimizerTensors: number;
  /** Key conventions applied to a .pth (engine/pth/checkpoint-file.ts). */
  conventions: string[];
}

async function readWeightsContents(input: string, opts: IoOptions): Promise<WeightsContents> {
  const bytes = await readPathBytes(input, opts);
  if (isZip(bytes)) {
    // yauzl reads from a file: an s3:// .pth goes through a private temp file
    let path = input;
    let dir: string | undefined;
    if (isS3Uri(input)) {
      dir = mkdtempSync(join(tmpdir(), 'ssl-pth-'));
      path = join(dir, 'in.pth');
      writeFileSync(path, bytes);
    }
    try {
      const ck = await readTorchCheckpoint(path);
      return { state: withAliases(ck.state, ck.aliases), aliases: ck.aliases, meta: ck.meta, optimizerTensors: countTensors(ck.optimizer), conventions: ck.conventions };
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  }
  const { tensors, metadata } = split(bytes, input);
  const state = new Map<string, RawTensor>();
  let optimizerTensors = 0;
  for (const [name, t] of tensors) {
    if (name.startsWith('state_dict.')) state.set(name.slice('state_dict.'.length), t);
    else if (name.startsWith('optimizer.')) optimizerTensors++;
  }
  const { state_dict_aliases: aliases = {}, ...meta } = metadata.meta !== undefined ? (JSON.parse(metadata.meta) as Record<string, unknown>) : {};
  return { state, aliases: aliases as Record<string, string>, meta, optimizerTensors, conventions: [] };
}

function aliasCount(c: WeightsContents): number {
  return [...c.state.keys()].filter((n) => Object.keys(c.aliases).some((a) => n.startsWith(`${a}.`))).length;
}

function countTensors(v: unknown): number {
  if (isPthTensor(v)) return 1;
  if (v instanceof PyDict) return [...v.values()].reduce((n: number, x) => n + countTensors(x), 0);
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + countTensors(x), 0);
  return 0;
}

/**
 * The bytes of a weights file: `{meta?, state_dict}` for .pth (PyTorch dtypes; a tensor under two names shares one
 * storage, as in PyTorch), ssl's container otherwise (second names listed in `meta.state_dict_aliases`).
 */
async function encodeWeights(
  format: WeightsFormat,
  state: Map<string, RawTensor>,
  meta: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  aliases: Record<string, string> = {},
): Promise<Uint8Array> {
  if (format === 'pth') {
    const sd = new Map<string, RawTensor>();
    const converted = new Map<RawTensor, RawTensor>();
    for (const [n, t] of state) {
      if (!converted.has(t)) converted.set(t, asTorchDtype(t));
      sd.set(n, converted.get(t)!);
    }
    return encodePth({ ...(Object.keys(meta).length > 0 ? { meta: pythonMeta(meta) } : {}), state_dict: sd, ...extra });
  }
  const tensors = new Map<string, RawTensor>();
  for (const [n, t] of state) tensors.set(`state_dict.${n}`, asSslDtype(t));
  const aliasMeta = Object.keys(aliases).length > 0 ? { state_dict_aliases: aliases } : {};
  return encodeSafetensors(tensors, { meta: JSON.stringify({ ...meta, layout: 'pytorch', ...aliasMeta }), format: 'ssl-checkpoint' });
}

/** Tensors are copied as raw bytes (any dtype), never decoded. */
function split(bytes: Uint8Array, path: string): ReturnType<typeof decodeSafetensors> {
  try {
    return decodeSafetensors(bytes);
  } catch (e) {
    throw new SslError(`${path} is not a readable checkpoint (${(e as Error).message})`, { code: 'CORRUPT_CHECKPOINT' });
  }
}

/** `OUT-<hash8><ext>` (ext of OUT, default .ckpt), as MMSelfSup's publish_model.py names files. */
export function publishedName(out: string, sha256: string, format: WeightsFormat = 'safetensors'): string {
  const ext = extname(out);
  const stem = ext === '' ? out : out.slice(0, -ext.length);
  return `${stem}-${sha256.slice(0, 8)}${ext === '' ? (format === 'pth' ? '.pth' : '.ckpt') : ext}`;
}

/**
 * `ssl model publish IN OUT` (MMSelfSup tools/model_converters/publish_model.py):
 * keeps the weights (`state_dict.*`) and `meta` minus optimizer state, drops every
 * `optimizer.*` tensor, and writes `OUT-<first 8 hex of SHA-256>.ckpt`. IN and OUT
 * may be local paths or s3:// URIs.
 * @returns the final path and its full SHA-256.
 */
export async function publishModel(input: string, out: string, opts: IoOptions & { format?: string } = {}): Promise<{ path: string; sha256: string; dropped: number }> {
  const format = weightsFormatOf(out, opts.format);
  const head = await readPathBytes(input, opts);
  if (format === 'pth' || isZip(head)) {
    const c = await readWeightsContents(input, opts);
    const { optimizer: _o, ...meta } = c.meta;
    const bytes = await encodeWeights(format, c.state, meta, {}, c.aliases);
    const sha256 = sha256Hex(bytes);
    const path = publishedName(out, sha256, format);
    await writePathBytes(path, bytes, opts);
    return { path, sha256, dropped: c.optimizerTensors };
  }
  const { tensors, metadata } = split(head, input);
  const kept = new Map<string, RawTensor>();
  let dropped = 0;
  for (const [name, t] of tensors) {
    if (name.startsWith('optimizer.')) dropped++;
    else kept.set(name, t);
  }
  const md = { ...metadata };
  if (md.meta !== undefined) {
    const meta = JSON.parse(md.meta) as Record<string, unknown>;
    delete meta.optimizer;
    md.meta = JSON.stringify(meta);
  }
  const bytes = encodeSafetensors(kept, md);
  const sha256 = sha256Hex(bytes);
  const path = publishedName(out, sha256);
  await writePathBytes(path, bytes, opts);
  return { path, sha256, dropped };
}

/**
 * `ssl model extract-backbone CKPT OUT` (MMSelfSup tools/model_converters/extract_backbone_weights.py):
 * keeps only `state_dict.backbone.*`, renamed to `state_dict.*` (prefix stripped),
 * for use as a `pretrained` backbone in downstream tasks.
 * @throws SslError when the checkpoint holds no backbone weights.
 */
export async function extractBackbone(ckpt: string, out: string, opts: IoOptions & { format?: string } = {}): Promise<{ path: string; tensors: number }> {
  const format = weightsFormatOf(out, opts.format);
  const head = await readPathBytes(ckpt, opts);
  if (format === 'pth' || isZip(head)) {
    const c = await readWeightsContents(ckpt, opts);
    const kept = new Map<string, RawTensor>();
    for (const [n, t] of c.state) if (n.startsWith('backbone.')) kept.set(n.slice('backbone.'.length), t);
    if (kept.size === 0) throw new SslError(`cannot find a backbone module in ${ckpt} (no state_dict backbone.* tensors)`, { code: 'NO_BACKBONE' });
    // extract_backbone_weights.py writes {'state_dict': ..., 'author': ...}
    const bytes = format === 'pth' ? await encodeWeights('pth', kept, {}, { author: 'ssl' }) : await encodeWeights('safetensors', kept, { author: 'ssl', source: ckpt });
    await writePathBytes(out, bytes, opts);
    return { path: out, tensors: kept.size };
  }
  const { tensors, metadata } = split(head, ckpt);
  const kept = new Map<string, RawTensor>();
  for (const [name, t] of tensors) {
    if (name.startsWith('state_dict.backbone.')) kept.set(`state_dict.${name.slice('state_dict.backbone.'.length)}`, t);
  }
  if (kept.size === 0) throw new SslError(`cannot find a backbone module in ${ckpt} (no state_dict.backbone.* tensors)`, { code: 'NO_BACKBONE' });
  const srcMeta = metadata.meta !== undefined ? (JSON.parse(metadata.meta) as Record<string, unknown>) : {};
  const meta: Record<string, unknown> = { author: 'ssl', source: ckpt };
  // the layout flag tells readers whether conv/linear weights are in PyTorch order
  if (srcMeta.layout !== undefined) meta.layout = srcMeta.layout;
  const md: Record<string, string> = { meta: JSON.stringify(meta) };
  if (metadata.format !== undefined) md.format = metadata.format;
  await writePathBytes(out, encodeSafetensors(kept, md), opts);
  return { path: out, tensors: kept.size };
}

/**
 * `ssl model import X.pth -o OUT`: a PyTorch file (MMSelfSup checkpoint, bare or timm/torchvision
 * state dict; see engine/pth/checkpoint-file.ts for the key conventions) as an ssl weights file
 * (safetensors, PyTorch names and layouts) or again as a normalised `.pth`; the optimizer is dropped.
 */
export async function importTorchWeights(input: string, out: string, opts: IoOptions & { format?: string } = {}): Promise<{ path: string; tensors: number; conventions: string[]; meta: Record<string, unknown> }> {
  const format = weightsFormatOf(out, opts.format);
  if (!isZip((await readPathBytes(input, opts)).subarray(0, 4))) throw new SslError(`${input} is not a PyTorch .pth file (torch.save's zip format)`, { code: 'CORRUPT_CHECKPOINT' });
  const c = await readWeightsContents(input, opts);
  const { optimizer: _o, ...meta } = c.meta;
  await writePathBytes(out, await encodeWeights(format, c.state, { ...meta, source: input }, {}, c.aliases), opts);
  return { path: out, tensors: c.state.size - aliasCount(c), conventions: c.conventions, meta };
}
