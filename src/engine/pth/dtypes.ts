/**
 * dtype conversions between PyTorch files and ssl's own weights files: ssl's checkpoint reader takes
 * F32, I32 and I64; PyTorch keeps integer buffers (`num_batches_tracked`, `queue_ptr`) as int64.
 */
import type { RawTensor } from '../safetensors.js';

/** For ssl's container: half/bfloat16/double -> F32, small integers and bool -> I32, F32/I32/I64 as they are (bytes only, no engine). */
export function asSslDtype(t: RawTensor): RawTensor {
  if (t.dtype === 'F32' || t.dtype === 'I32' || t.dtype === 'I64') return t;
  const dv = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const n = t.shape.reduce((a, b) => a * b, 1);
  const float = t.dtype === 'F16' || t.dtype === 'BF16' || t.dtype === 'F64';
  const out = float ? new Float32Array(n) : new Int32Array(n);
  for (let i = 0; i < n; i++) {
    switch (t.dtype) {
      case 'F16': out[i] = halfToFloat(dv.getUint16(2 * i, true)); break;
      case 'BF16': out[i] = new Float32Array(new Uint32Array([dv.getUint16(2 * i, true) << 16]).buffer)[0]; break;
      case 'F64': out[i] = dv.getFloat64(8 * i, true); break;
      case 'I16': out[i] = dv.getInt16(2 * i, true); break;
      case 'I8': out[i] = dv.getInt8(i); break;
      default: out[i] = dv.getUint8(i); // U8, BOOL
    }
  }
  return { dtype: float ? 'F32' : 'I32', shape: t.shape, bytes: new Uint8Array(out.buffer) };
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** For a .pth: int32 (ssl's integer buffers) -> int64, as PyTorch's modules hold them. */
export function asTorchDtype(t: RawTensor): RawTensor {
  if (t.dtype !== 'I32') return t;
  const n = t.bytes.byteLength / 4;
  const dv = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const wide = new BigInt64Array(n);
  for (let i = 0; i < n; i++) wide[i] = BigInt(dv.getInt32(4 * i, true));
  return { dtype: 'I64', shape: t.shape, bytes: new Uint8Array(wide.buffer) };
}
