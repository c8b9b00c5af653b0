/**
 * safetensors container codec (https://github.com/huggingface/safetensors, format):
 * 8-byte little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}`
 * (padded with spaces to 8 bytes), then the raw little-endian tensor bytes.
 * Used for weight files and (by the runner) checkpoints. Files written here load with
 * `safetensors.torch.load_file` and vice versa.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { SslError } from '../errors.js';
import type { Module } from './module.js';
import { tf, type Tensor } from './tf.js';
import { loadTorchStateDict, torchStateDict } from './torch-layout.js';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** One stored tensor: dtype, shape and its raw little-endian bytes. */
export interface RawTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  bytes: Uint8Array;
}

const BYTES: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Serialises tensors (in the given order) and string metadata into one safetensors buffer. */
export function encodeSafetensors(tensors: Map<string, RawTensor>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const expected = t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype];
    if (t.bytes.byteLength !== expected) throw new SslError(`safetensors: ${name} has ${t.bytes.byteLength} bytes, ${t.dtype}[${t.shape}] needs ${expected}`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + expected] };
    offset += expected;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    out.set(t.bytes, pos);
    pos += t.bytes.byteLength;
  }
  return out;
}

/** Parses a safetensors buffer; tensor bytes are views into `buf` (copy them to keep past `buf`). */
export function decodeSafetensors(buf: Uint8Array): { tensors: Map<string, RawTensor>; metadata: Record<string, string> } {
  if (buf.byteLength < 8) throw new SslError('not a safetensors file: shorter than its 8-byte header length');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (8 + n > buf.byteLength) throw new SslError(`not a safetensors file: header length ${n} exceeds the file size ${buf.byteLength}`);
  let header: Record<string, { dtype: SafetensorsDtype; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, n).toString('utf8'));
  } catch (e) {
    throw new SslError(`not a safetensors file: header is not JSON (${(e as Error).message})`);
  }
  const metadata = (header.__metadata__ ?? {}) as unknown as Record<string, string>;
  const tensors = new Map<string, RawTensor>();
  const base = 8 + n;
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (!(entry.dtype in BYTES)) throw new SslError(`safetensors: unsupported dtype ${entry.dtype} for ${name}`);
    const [begin, end] = entry.data_offsets;
    if (base + end > buf.byteLength) throw new SslError(`safetensors: ${name} lies beyond the end of the file (truncated?)`);
    tensors.set(name, { dtype: entry.dtype, shape: entry.shape, bytes: buf.subarray(base + begin, base + end) });
  }
  return { tensors, metadata };
}

/** A tf tensor as raw float32/int32 bytes; int32 tensors can be widened to I64 (PyTorch's integer buffers). */
export function rawFromTensor(t: Tensor, options: { int64?: boolean } = {}): RawTensor {
  const data = t.dataSync();
  if (t.dtype === 'float32') return { dtype: 'F32', shape: [...t.shape], bytes: copyBytes(data as Float32Array) };
  if (t.dtype === 'int32' || t.dtype === 'bool') {
    if (options.int64 ?? true) {
      const wide = new BigInt64Array(data.length);
      for (let i = 0; i < data.length; i++) wide[i] = BigInt(data[i] as number);
      return { dtype: 'I64', shape: [...t.shape], bytes: new Uint8Array(wide.buffer) };
    }
    return { dtype: 'I32', shape: [...t.shape], bytes: copyBytes(data as Int32Array) };
  }
  throw new SslError(`safetensors: cannot store a ${t.dtype} tensor`);
}

/** A stored tensor as a new tf tensor (floats -> float32, integers -> int32). */
export function tensorFromRaw(r: RawTensor): Tensor {
  const count = r.shape.reduce((a, b) => a * b, 1);
  const bytes = new Uint8Array(r.bytes); // aligned copy
  const dv = new DataView(bytes.buffer);
  switch (r.dtype) {
    case 'F32':
      return tf.tensor(new Float32Array(bytes.buffer, 0, count), r.shape, 'float32');
    case 'F64':
      return tf.tensor(Float32Array.from(new Float64Array(bytes.buffer, 0, count)), r.shape, 'float32');
    case 'F16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
      return tf.tensor(out, r.shape, 'float32');
    }
    case 'BF16': {
      const out = new Float32Array(count);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u[i] = dv.getUint16(2 * i, true) << 16;
      return tf.tensor(out, r.shape, 'float32');
    }
    case 'I64': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = Number(dv.getBigInt64(8 * i, true));
      return tf.tensor(out, r.shape, 'int32');
    }
    case 'I32':
      return tf.tensor(new Int32Array(bytes.buffer, 0, count), r.shape, 'int32');
    case 'I16':
      return tf.tensor(Int32Array.from(new Int16Array(bytes.buffer, 0, count)), r.shape, 'int32');
    case 'I8':
      return tf.tensor(Int32Array.from(new Int8Array(bytes.buffer, 0, count)), r.shape, 'int32');
    case 'U8':
    case 'BOOL':
      return tf.tensor(Int32Array.from(bytes.subarray(0, count)), r.shape, 'int32');
  }
}

/** Writes a module's weights (PyTorch names and layouts, optional name prefix) atomically. */
export async function saveWeights(module: Module, path: string, options: { prefix?: string; metadata?: Record<string, string> } = {}): Promise<void> {
  const torch = torchStateDict(module, options.prefix ?? '');
  const raw = new Map<string, RawTensor>();
  for (const [name, t] of torch) {
    raw.set(name, rawFromTensor(t));
    t.dispose();
  }
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, encodeSafetensors(raw, { format: 'pt', ...options.metadata }));
  await rename(tmp, path);
}

/**
 * Loads a safetensors weight file (PyTorch names and layouts) into a module. `prefix` selects
 * and strips a part of the file (e.g. 'backbone.' of a whole-model checkpoint).
 */
export async function loadWeights(
  module: Module,
  path: string,
  options: { prefix?: string; strict?: boolean } = {},
): Promise<{ missingKeys: string[]; unexpectedKeys: string[]; metadata: Record<string, string> }> {
  const { tensors, metadata } = decodeSafetensors(await readFile(path));
  const prefix = options.prefix ?? '';
  const state = new Map<string, Tensor>();
  for (const [name, r] of tensors) if (name.startsWith(prefix)) state.set(name.slice(prefix.length), tensorFromRaw(r));
  try {
    return { ...loadTorchStateDict(module, state, { strict: options.strict }), metadata };
  } finally {
    for (const t of state.values()) t.dispose();
  }
}

function copyBytes(a: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}
