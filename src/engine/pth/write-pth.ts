/**
 * Writes what `torch.save` writes for state dicts and checkpoints: a zip (yazl, entries stored)
 * with `archive/data.pkl` (pickle protocol 2, as torch's default), `archive/byteorder`,
 * `archive/data/<n>` raw little-endian storages and `archive/version`. The pickle names only
 * globals `torch.load(weights_only=True)` accepts: `collections.OrderedDict`,
 * `torch._utils._rebuild_tensor_v2` and typed storage classes.
 *
 * Values: `Map` -> OrderedDict, plain object -> dict, array -> list, `PyTuple` -> tuple,
 * integer number or bigint -> int, other number -> float, `PyFloat` -> float, `RawTensor` -> tensor
 * (the same RawTensor object twice shares one storage, as aliased tensors do in PyTorch).
 */
import yazl from 'yazl';
import { SslError } from '../../errors.js';
import type { RawTensor, SafetensorsDtype } from '../safetensors.js';
import { STORAGE_DTYPES } from './torch-globals.js';

export class PyTuple {
  constructor(readonly items: unknown[]) {}
}

/** A float that happens to be integral (`lr=0.0`) and must stay a Python float. */
export class PyFloat {
  constructor(readonly value: number) {}
}

const STORAGE_OF = new Map<SafetensorsDtype, string>(Object.entries(STORAGE_DTYPES).map(([name, d]) => [d.dtype, name]));

function isRaw(v: unknown): v is RawTensor {
  return typeof v === 'object' && v !== null && 'dtype' in v && 'shape' in v && 'bytes' in v && (v as RawTensor).bytes instanceof Uint8Array;
}

/** Protocol-2 pickle writer for the value model above (no memo needed: the only sharing is storages). */
class Pickler {
  private readonly parts: Buffer[] = [];
  readonly storages: { key: string; bytes: Uint8Array }[] = [];
  private readonly storageKeys = new Map<RawTensor, string>();

  private op(...bytes: number[]): void {
    this.parts.push(Buffer.from(bytes));
  }
  private raw(b: Buffer): void {
    this.parts.push(b);
  }
  private global(module: string, name: string): void {
    this.raw(Buffer.from(`c${module}\n${name}\n`, 'latin1'));
  }
  private str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    const h = Buffer.alloc(5);
    h[0] = 0x58; // BINUNICODE
    h.writeUInt32LE(b.length, 1);
    this.raw(h);
    this.raw(b);
  }
  private int(n: number | bigint): void {
    if (typeof n === 'number' && n >= 0 && n < 256) return this.op(0x4b, n);
    if (typeof n === 'number' && n >= -(2 ** 31) && n < 2 ** 31) {
      const h = Buffer.alloc(5);
      h[0] = 0x4a; // BININT
      h.writeInt32LE(n, 1);
      return this.raw(h);
    }
    // LONG1: little-endian two's complement
    let v = BigInt(n);
    const bytes: number[] = [];
    for (;;) {
      bytes.push(Number(v & 0xffn));
      v >>= 8n;
      if ((v === 0n && !(bytes[bytes.length - 1] & 0x80)) || (v === -1n && bytes[bytes.length - 1] & 0x80)) break;
    }
    this.op(0x8a, bytes.length, ...bytes);
  }
  private float(x: number): void {
    const b = Buffer.alloc(9);
    b[0] = 0x47; // BINFLOAT, big-endian
    b.writeDoubleBE(x, 1);
    this.raw(b);
  }
  private tuple(items: unknown[]): void {
    if (items.length === 0) return this.op(0x29);
    this.op(0x28);
    for (const x of items) this.value(x);
    this.op(0x74);
  }
  private dictItems(entries: Iterable<[unknown, unknown]>): void {
    let open = false;
    let n = 0;
    for (const [k, v] of entries) {
      if (!open) this.op(0x28);
      open = true;
      this.value(k);
      this.value(v);
      if (++n % 1000 === 0) {
        this.op(0x75);
        open = false;
      }
    }
    if (open) this.op(0x75); // SETITEMS
  }
  private tensor(t: RawTensor): void {
    const storage = STORAGE_OF.get(t.dtype);
    if (!storage) throw new SslError(`cannot write a ${t.dtype} tensor to a .pth file`);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (t.bytes.byteLength !== numel * STORAGE_DTYPES[storage].bytes) throw new SslError(`.pth writer: tensor of shape [${t.shape}] has ${t.bytes.byteLength} bytes`);
    let key = this.storageKeys.get(t);
    if (key === undefined) {
      key = String(this.storages.length);
      this.storageKeys.set(t, key);
      this.storages.push({ key, bytes: t.bytes });
    }
    const stride: number[] = [];
    for (let i = t.shape.length - 1, s = 1; i >= 0; i--) {
      stride[i] = s;
      s *= t.shape[i];
    }
    this.global('torch._utils', '_rebuild_tensor_v2');
    this.op(0x28); // MARK: the argument tuple
    this.op(0x28); // the persistent id ('storage', torch.XStorage, key, 'cpu', numel)
    this.str('storage');
    this.global('torch', storage);
    this.str(key);
    this.str('cpu');
    this.int(numel);
    this.op(0x74, 0x51); // TUPLE, BINPERSID
    this.int(0);
    this.tuple(t.shape);
    this.tuple(stride);
    this.op(0x89); // requires_grad False
    this.global('collections', 'OrderedDict');
    this.op(0x29, 0x52); // () REDUCE: empty backward hooks
    this.op(0x74, 0x52); // TUPLE, REDUCE
  }

  value(v: unknown): void {
    if (v === null || v === undefined) return this.op(0x4e);
    if (v === true) return this.op(0x88);
    if (v === false) return this.op(0x89);
    if (typeof v === 'bigint') return this.int(v);
    if (typeof v === 'number') return Number.isSafeInteger(v) ? this.int(v) : this.float(v);
    if (v instanceof PyFloat) return this.float(v.value);
    if (typeof v === 'string') return this.str(v);
    if (v instanceof PyTuple) return this.tuple(v.items);
    if (isRaw(v)) return this.tensor(v);
    if (Array.isArray(v)) {
      this.op(0x5d); // EMPTY_LIST
      if (v.length > 0) {
        this.op(0x28);
        for (const x of v) this.value(x);
        this.op(0x65); // APPENDS
      }
      return;
    }
    if (v instanceof Map) {
      this.global('collections', 'OrderedDict');
      this.op(0x29, 0x52);
      return this.dictItems(v.entries());
    }
    if (typeof v === 'object') {
      this.op(0x7d); // EMPTY_DICT
      return this.dictItems(Object.entries(v as Record<string, unknown>));
    }
    throw new SslError(`.pth writer: cannot pickle a ${typeof v}`);
  }

  finish(): Buffer {
    return Buffer.concat([Buffer.from([0x80, 0x02]), ...this.parts, Buffer.from([0x2e])]);
  }
}

/** A fixed timestamp keeps the bytes (and a published file's hash) the same for the same weights. */
const EPOCH = new Date(1980, 0, 1);

/** Serialises `value` as torch.save does (zip format, archive folder `archive`). */
export async function encodePth(value: unknown, archive = 'archive'): Promise<Buffer> {
  const p = new Pickler();
  p.value(value);
  const zip = new yazl.ZipFile();
  const add = (name: string, b: Uint8Array) =>
    zip.addBuffer(Buffer.from(b.buffer, b.byteOffset, b.byteLength), `${archive}/${name}`, { compress: false, mtime: EPOCH, forceDosTimestamp: true });
  add('data.pkl', p.finish());
  add('byteorder', Buffer.from('little'));
  for (const s of p.storages) add(`data/${s.key}`, s.bytes);
  add('version', Buffer.from('3\n'));
  const chunks: Buffer[] = [];
  const done = new Promise<void>((res, rej) => {
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', res);
    zip.outputStream.on('error', rej);
  });
  zip.end();
  await done;
  return Buffer.concat(chunks);
}
