/**
 * Reads a PyTorch file written by `torch.save` (the zip format of PyTorch >= 1.6:
 * `<archive>/data.pkl`, `<archive>/data/<key>` storages, `<archive>/version`, optional
 * `<archive>/byteorder`) without running anything from it: the pickle goes through the restricted
 * unpickler with the `weights_only` allowlist, every storage's size is checked against its claim
 * and every tensor's extent against its storage before any copy. Strided views are copied to
 * contiguous tensors; big-endian files are byte-swapped.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { SslError } from '../../errors.js';
import type { RawTensor } from '../safetensors.js';
import { STORAGE_DTYPES, StorageType, TensorRef, torchGlobal, type StorageRef } from './torch-globals.js';
import { PyDict, unpickle, type PyValue } from './unpickler.js';
import { looksLikeZip, ZipArchive } from './zip-archive.js';

/** A tensor of a `.pth` file: contiguous little-endian bytes, plus where it came from (aliases share both). */
export interface PthTensor extends RawTensor {
  storageKey: string;
  storageOffset: number;
}

export function isPthTensor(v: unknown): v is PthTensor {
  return typeof v === 'object' && v !== null && 'storageKey' in v && 'bytes' in v;
}

const MAX_DEPTH = 200;

function corrupt(path: string, msg: string): never {
  throw new SslError(`${path}: ${msg}`, { code: 'CORRUPT_CHECKPOINT' });
}

/**
 * The object `torch.save` stored in `path`; tensors come back as `PthTensor`, dicts as `PyDict`
 * (`pickleOnly`: the unpickled tree alone, tensors unread, for a checkpoint's meta).
 * @throws SslError (exit 2) for a file that is not a PyTorch zip, names a global outside the
 * allowlist, or whose storages are truncated or shorter than their tensors.
 */
export async function readPth(path: string, options: { pickleOnly?: boolean } = {}): Promise<PyValue> {
  if (!looksLikeZip(path)) throw notZip(path);
  const zip = await ZipArchive.open(path);
  try {
    const pkls = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (pkls.length !== 1) corrupt(path, pkls.length === 0 ? 'no <archive>/data.pkl member (not written by torch.save?)' : 'more than one data.pkl');
    const prefix = pkls[0].slice(0, -'data.pkl'.length);
    const stray = [...zip.entries.keys()].find((n) => !n.startsWith(prefix));
    if (stray) corrupt(path, `member ${stray} lies outside the archive folder ${prefix}`);
    let bigEndian = false;
    if (zip.entries.has(`${prefix}byteorder`)) {
      const order = Buffer.from(await zip.read(`${prefix}byteorder`)).toString('latin1').trim();
      if (order !== 'little' && order !== 'big') corrupt(path, `byteorder is "${order}"`);
      bigEndian = order === 'big';
    }
    const storages = new Map<string, StorageRef>();
    const root = unpickle(await zip.read(pkls[0]), {
      name: `${path}: data.pkl`,
      globals: torchGlobal,
      refusedHint: 'torch.load(weights_only=True) would refuse it too; only tensors, dicts, lists and numbers are read',
      persistentLoad: (pid) => {
        const [kind, type, key, , numel] = (Array.isArray(pid) ? pid : []) as [unknown, unknown, unknown, unknown, unknown];
        if (kind !== 'storage' || !(type instanceof StorageType) || typeof key !== 'string' || typeof numel !== 'number' || !Number.isInteger(numel) || numel < 0) {
          corrupt(path, `unexpected persistent id ${JSON.stringify(pid, (_k, v) => (typeof v === 'bigint' ? String(v) : v))?.slice(0, 80)}`);
        }
        const seen = storages.get(key as string);
        if (seen && (seen.type !== type || seen.numel !== numel)) corrupt(path, `storage ${key as string} is described twice differently`);
        const ref = seen ?? { key: key as string, type: type as StorageType, numel: numel as number };
        storages.set(ref.key, ref);
        return ref;
      },
    });
    if (options.pickleOnly) return root;
    // every storage's record must hold exactly what its reference claims, checked before reading it
    const data = new Map<string, Uint8Array>();
    for (const s of storages.values()) {
      const member = `${prefix}data/${s.key}`;
      const entry = zip.entries.get(member);
      if (!entry) corrupt(path, `storage ${member} is missing (truncated file?)`);
      const want = s.numel * s.type.itemBytes;
      if (entry!.uncompressedSize !== want) {
        corrupt(path, `storage ${member} holds ${entry!.uncompressedSize} bytes, but its ${s.type.qualname} of ${s.numel} elements needs ${want}`);
      }
    }
    const out = await materialize(root, async (ref) => {
      let bytes = data.get(ref.key);
      if (!bytes) data.set(ref.key, (bytes = await zip.read(`${prefix}data/${ref.key}`)));
      return bytes;
    }, path, bigEndian);
    return out;
  } finally {
    zip.close();
  }
}

/** Replaces every TensorRef in the unpickled tree by a checked, contiguous PthTensor. */
async function materialize(root: PyValue, storageBytes: (ref: StorageRef) => Promise<Uint8Array>, path: string, bigEndian: boolean): Promise<PyValue> {
  const visit = async (v: PyValue, where: string, depth: number): Promise<PyValue> => {
    if (depth > MAX_DEPTH) corrupt(path, `nesting deeper than ${MAX_DEPTH} at ${where}`);
    if (v instanceof TensorRef) return tensorOf(v, await storageBytes(v.storage), where || 'the tensor', path, bigEndian);
    if (v instanceof PyDict) {
      const d = new PyDict();
      for (const [k, x] of v) d.set(k, await visit(x, where ? `${where}.${String(k)}` : String(k), depth + 1));
      return d;
    }
    if (Array.isArray(v)) {
      const a: PyValue[] = [];
      for (let i = 0; i < v.length; i++) a.push(await visit(v[i], `${where}[${i}]`, depth + 1));
      return a;
    }
    return v;
  };
  return visit(root, '', 0);
}

function tensorOf(t: TensorRef, storage: Uint8Array, name: string, path: string, bigEndian: boolean): PthTensor {
  const { itemBytes, dtype } = t.storage.type;
  const numel = t.shape.reduce((a, b) => a * b, 1);
  const base = { dtype, shape: [...t.shape], storageKey: t.storage.key, storageOffset: t.offset };
  if (numel === 0) return { ...base, bytes: new Uint8Array(0) };
  let last = t.offset;
  for (let i = 0; i < t.shape.length; i++) last += (t.shape[i] - 1) * t.stride[i];
  if (last >= t.storage.numel) {
    corrupt(path, `tensor ${name} of shape [${t.shape.join(', ')}] (offset ${t.offset}, stride [${t.stride.join(', ')}]) reaches element ${last} of storage data/${t.storage.key}, which holds ${t.storage.numel}`);
  }
  if (numel > t.storage.numel) corrupt(path, `tensor ${name} has more elements (${numel}) than its storage data/${t.storage.key} (${t.storage.numel}): broadcast views are not read`);
  let contiguous = true;
  for (let i = t.shape.length - 1, s = 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && t.stride[i] !== s) contiguous = false;
    s *= t.shape[i];
  }
  let bytes: Uint8Array;
  if (contiguous) bytes = storage.subarray(t.offset * itemBytes, (t.offset + numel) * itemBytes);
  else bytes = gather(storage, t, numel, itemBytes);
  if (bigEndian && itemBytes > 1) bytes = byteSwap(bytes, itemBytes);
  return { ...base, bytes };
}

/** Copies a strided view into contiguous (row-major) order. */
function gather(storage: Uint8Array, t: TensorRef, numel: number, item: number): Uint8Array {
  const out = new Uint8Array(numel * item);
  const rank = t.shape.length;
  const idx = new Array<number>(rank).fill(0);
  let src = t.offset;
  for (let n = 0; n < numel; n++) {
    out.set(storage.subarray(src * item, src * item + item), n * item);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      src += t.stride[d];
      if (idx[d] < t.shape[d]) break;
      src -= t.stride[d] * t.shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

function byteSwap(b: Uint8Array, item: number): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i += item) for (let j = 0; j < item; j++) out[i + j] = b[i + item - 1 - j];
  return out;
}

/** The error for a file that is not a zip: PyTorch's legacy formats get their own message. */
function notZip(path: string): SslError {
  let head = Buffer.alloc(0);
  try {
    const fd = openSync(path, 'r');
    try {
      head = Buffer.alloc(512);
      head = head.subarray(0, readSync(fd, head, 0, 512, 0));
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    return new SslError(`cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { code: 'NO_CHECKPOINT' });
  }
  // torch < 1.6 wrote a pickled magic number 0x1950a86a20f9469cfc6c first; older ones a tar
  const legacyMagic = Buffer.from([0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);
  if (head[0] === 0x80 && head.subarray(0, 16).includes(legacyMagic)) {
    return new SslError(`${path} uses PyTorch's legacy (before 1.6) format, which ssl does not read; re-save it with a current PyTorch: torch.save(torch.load(f, weights_only=True), 'new.pth')`, { code: 'UNSUPPORTED_CHECKPOINT' });
  }
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') {
    return new SslError(`${path} is a tar archive (PyTorch's oldest format), which ssl does not read; re-save it with a current PyTorch`, { code: 'UNSUPPORTED_CHECKPOINT' });
  }
  return new SslError(`${path} is not a PyTorch .pth file (torch.save's zip format) or an ssl checkpoint (it is ${head.length === 0 ? 'empty' : 'something else'})`, { code: 'CORRUPT_CHECKPOINT' });
}

export { STORAGE_DTYPES };
