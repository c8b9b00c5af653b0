import { readFileSync } from 'node:fs';
import { ConfigError } from '../../errors.js';
import { writeFileAtomic } from '../checkpoint.js';

/**
 * NumPy `.npy` (format 1.0, little-endian, C order) for what MMSelfSup's clustering hooks `np.save`:
 * float32 features and int64 labels (`cluster_epoch_N.npy`), so files move between the two.
 */
export function writeNpy(path: string, data: Float32Array | Int32Array, shape: number[]): void {
  const descr = data instanceof Float32Array ? '<f4' : '<i8';
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
  // magic (6) + version (2) + header length (2) + header + '\n', padded to 64 bytes
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const body = data instanceof Float32Array ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(BigInt64Array.from(data, (v) => BigInt(v)).buffer);
  const out = new Uint8Array(10 + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(body, 10 + header.length);
  writeFileAtomic(path, out);
}

/** Reads a `.npy` of float32 (returned as is) or int64/int32 (returned as Int32Array) values. */
export function readNpy(path: string): { data: Float32Array | Int32Array; shape: number[] } {
  const buf = readFileSync(path);
  if (buf.length < 10 || buf[0] !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') throw new ConfigError(`${path} is not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new ConfigError(`${path}: Fortran-order arrays are not read; save it in C order`);
  const n = shape.reduce((a, b) => a * b, 1);
  const body = buf.subarray(start + hlen);
  const copy = new Uint8Array(body).buffer;
  if (descr === '<f4') return { data: new Float32Array(copy, 0, n), shape };
  if (descr === '<i8') return { data: Int32Array.from(new BigInt64Array(copy, 0, n), (v) => Number(v)), shape };
  if (descr === '<i4') return { data: new Int32Array(copy, 0, n), shape };
  throw new ConfigError(`${path}: dtype ${String(descr)} is not read (float32, int64 or int32)`);
}
