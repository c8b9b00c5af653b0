/**
 * NumPy `.npy` (format 1.0) bytes of a 1-D int64 array, as `np.save` writes them: what
 * MMSelfSup's clustering hooks save as `cluster_epoch_<n>.npy` (`np.load` reads it back).
 */
export function encodeNpyInt64(values: ArrayLike<number>): Uint8Array {
  let header = `{'descr': '<i8', 'fortran_order': False, 'shape': (${values.length},), }`;
  // magic (6) + version (2) + header length (2) + header + '\n' is a multiple of 64
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = header + ' '.repeat(pad % 64) + '\n';
  const out = new Uint8Array(10 + header.length + 8 * values.length);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  const body = new BigInt64Array(out.buffer, 10 + header.length, values.length);
  for (let i = 0; i < values.length; i++) body[i] = BigInt(values[i]);
  return out;
}
