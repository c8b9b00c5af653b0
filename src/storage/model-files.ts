import { extname } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { SslError } from '../errors.js';
import type { S3ClientOptions } from './client.js';
import { sha256Hex } from './digest.js';
import { readPathBytes, writePathBytes } from './path-io.js';
import { decodeSafetensors, encodeSafetensors, type RawTensor } from '../engine/safetensors.js';

type IoOptions = { client?: S3Client } & S3ClientOptions;

/** Tensors are copied as raw bytes (any dtype), never decoded. */
function split(bytes: Uint8Array, path: string): ReturnType<typeof decodeSafetensors> {
  try {
    return decodeSafetensors(bytes);
  } catch (e) {
    throw new SslError(`${path} is not a readable checkpoint (${(e as Error).message})`, { code: 'CORRUPT_CHECKPOINT' });
  }
}

/** `OUT-<hash8><ext>` (ext of OUT, default .ckpt), as MMSelfSup's publish_model.py names files. */
export function publishedName(out: string, sha256: string): string {
  const ext = extname(out);
  const stem = ext === '' ? out : out.slice(0, -ext.length);
  return `${stem}-${sha256.slice(0, 8)}${ext === '' ? '.ckpt' : ext}`;
}

/**
 * `ssl model publish IN OUT` (MMSelfSup tools/model_converters/publish_model.py):
 * keeps the weights (`state_dict.*`) and `meta` minus optimizer state, drops every
 * `optimizer.*` tensor, and writes `OUT-<first 8 hex of SHA-256>.ckpt`. IN and OUT
 * may be local paths or s3:// URIs.
 * @returns the final path and its full SHA-256.
 */
export async function publishModel(input: string, out: string, opts: IoOptions = {}): Promise<{ path: string; sha256: string; dropped: number }> {
  const { tensors, metadata } = split(await readPathBytes(input, opts), input);
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
export async function extractBackbone(ckpt: string, out: string, opts: IoOptions = {}): Promise<{ path: string; tensors: number }> {
  const { tensors, metadata } = split(await readPathBytes(ckpt, opts), ckpt);
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
