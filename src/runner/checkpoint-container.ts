/**
 * The safetensors container (https://github.com/huggingface/safetensors): u64 LE header length,
 * JSON header `{name: {dtype, shape, data_offsets}, __metadata__: {k: string}}`, raw little-endian data.
 * Works on raw arrays so checkpoints can be written without holding extra tensors.
 */
export interface RawTensor {
  dtype: 'F32' | 'I32';
  shape: readonly number[];
  data: Float32Array | Int32Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export function encodeContainer(tensors: Map<string, RawTensor>, metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.data.byteLength;
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  // pad the header with spaces so the data starts 8-byte aligned (as the reference writer does)
  const pad = (8 - ((8 + Buffer.byteLength(json)) % 8)) % 8;
  json += ' '.repeat(pad);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

export function readContainerHeader(headerBytes: Uint8Array): { entries: Map<string, HeaderEntry>; metadata: Record<string, string>; dataLength: number } {
  const header = JSON.parse(Buffer.from(headerBytes).toString('utf8')) as Record<string, unknown>;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const entries = new Map<string, HeaderEntry>();
  let dataLength = 0;
  for (const [k, v] of Object.entries(header)) {
    if (k === '__metadata__') continue;
    const e = v as HeaderEntry;
    entries.set(k, e);
    dataLength = Math.max(dataLength, e.data_offsets[1]);
  }
  return { entries, metadata, dataLength };
}

export function decodeContainer(buf: Uint8Array): { tensors: Map<string, RawTensor>; metadata: Record<string, string> } {
  if (buf.length < 8) throw new Error('file shorter than the 8-byte header length');
  const n = Number(new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true));
  if (8 + n > buf.length) throw new Error(`header of ${n} bytes runs past the end of the file (${buf.length} bytes): truncated`);
  const { entries, metadata, dataLength } = readContainerHeader(buf.subarray(8, 8 + n));
  const base = 8 + n;
  if (base + dataLength > buf.length) throw new Error(`data of ${dataLength} bytes runs past the end of the file: truncated`);
  const tensors = new Map<string, RawTensor>();
  for (const [name, e] of entries) {
    const [s, t] = e.data_offsets;
    const bytes = buf.slice(base + s, base + t);
    if (e.dtype === 'F32') tensors.set(name, { dtype: 'F32', shape: e.shape, data: new Float32Array(bytes.buffer, 0, (t - s) / 4) });
    else if (e.dtype === 'I32') tensors.set(name, { dtype: 'I32', shape: e.shape, data: new Int32Array(bytes.buffer, 0, (t - s) / 4) });
    else if (e.dtype === 'I64') {
      const big = new BigInt64Array(bytes.buffer, 0, (t - s) / 8);
      tensors.set(name, { dtype: 'I32', shape: e.shape, data: Int32Array.from(big, (v) => Number(v)) });
    } else throw new Error(`tensor ${name} has dtype ${e.dtype}; only F32, I32 and I64 are supported`);
  }
  return { tensors, metadata };
}
