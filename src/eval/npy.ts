import { renameSync, writeFileSync } from 'node:fs';

type Typed = Float32Array | Float64Array | Int32Array | Int8Array;
const DESCR = new Map<string, string>([['Float32Array', '<f4'], ['Float64Array', '<f8'], ['Int32Array', '<i4'], ['Int8Array', '|i1']]);

/** A NumPy `.npy` file (format 1.0, C order) of `data` with `shape`, what `numpy.load` reads; written atomically. */
export function writeNpy(path: string, data: Typed, shape: number[]): void {
  const descr = DESCR.get(data.constructor.name);
  if (!descr) throw new Error(`writeNpy: unsupported array type ${data.constructor.name}`);
  if (shape.reduce((a, b) => a * b, 1) !== data.length) throw new Error(`writeNpy: shape ${JSON.stringify(shape)} does not hold ${data.length} values`);
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  // magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n
  const pad = 64 - ((10 + dict.length + 1) % 64);
  const header = `${dict}${' '.repeat(pad % 64)}\n`;
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
  renameSync(tmp, path);
}
