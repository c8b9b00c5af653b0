import { SslError } from '../../errors.js';

/**
 * A minimal Python unpickler for data files (CIFAR batches): dicts, lists, tuples, strings, bytes,
 * ints, floats, and numpy arrays (`numpy.core.multiarray._reconstruct` + `numpy.dtype`).
 * Protocols 0-5 binary opcodes; text keys of Python 2 pickles come back as latin-1 strings.
 * Arbitrary classes are refused (no code runs).
 */

/** A numpy array from a pickle: raw bytes, dtype string (`'u1'`, `'<i8'`...), shape. */
export interface NdArray {
  __ndarray__: true;
  dtype: string;
  shape: number[];
  fortran: boolean;
  data: Uint8Array;
}

type PyValue = unknown;

class Global {
  constructor(readonly module: string, readonly name: string) {}
}
class Reconstructed {
  state: unknown;
  constructor(readonly fn: Global, readonly args: PyValue[]) {}
}

const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');

function callGlobal(fn: Global, args: PyValue[]): PyValue {
  const key = `${fn.module}.${fn.name}`;
  if (key === '_codecs.encode') return Uint8Array.from(Buffer.from(args[0] as string, 'latin1'));
  if (key === 'numpy.core.multiarray._reconstruct' || key === 'numpy._core.multiarray._reconstruct') return new Reconstructed(fn, args);
  if (key === 'numpy.dtype') return { __dtype__: String(args[0]) };
  if (key === 'builtins.bytearray' || key === '__builtin__.bytearray') return args.length ? Uint8Array.from(Buffer.from(args[0] as string, 'latin1')) : new Uint8Array();
  throw new SslError(`pickle: refusing to call ${key} (only numpy arrays and plain containers are read)`, { code: 'CORRUPT_FILE' });
}

function finishNd(obj: Reconstructed): NdArray {
  // state = (version, shape, dtype, is_fortran, rawdata)
  const st = obj.state as PyValue[];
  const shape = st[1] as number[];
  const dtype = st[2] as { __dtype__: string; endian?: string };
  const raw = st[4];
  const data = typeof raw === 'string' ? Uint8Array.from(Buffer.from(raw, 'latin1')) : (raw as Uint8Array);
  return { __ndarray__: true, dtype: (dtype.endian && dtype.endian !== '|' ? dtype.endian : '') + dtype.__dtype__, shape: [...shape], fortran: Boolean(st[3]), data };
}

/** Unpickles `buf`; numpy arrays become `NdArray`, dict keys become strings. */
export function unpickle(buf: Uint8Array, name = 'pickle'): PyValue {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  const stack: PyValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  const fail = (msg: string): never => {
    throw new SslError(`${name}: ${msg} at byte ${pos}`, { code: 'CORRUPT_FILE' });
  };
  const need = (n: number) => {
    if (pos + n > buf.length) fail('truncated pickle');
  };
  const u8 = () => (need(1), buf[pos++]);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const u64 = () => (need(8), (pos += 8), Number(view.getBigUint64(pos - 8, true)));
  const bytes = (n: number) => (need(n), (pos += n), buf.subarray(pos - n, pos));
  const line = () => {
    const end = buf.indexOf(10, pos);
    if (end < 0) fail('unterminated line');
    const s = latin1(buf.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const popMark = () => {
    const m = marks.pop();
    if (m === undefined) fail('MARK expected');
    return stack.splice(m!);
  };
  const keyOf = (k: PyValue) => (k instanceof Uint8Array ? latin1(k) : String(k));
  const setItems = (d: Record<string, PyValue>, items: PyValue[]) => {
    for (let i = 0; i + 1 < items.length; i += 2) d[keyOf(items[i])] = items[i + 1];
  };
  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: u64(); break; // FRAME
      case 0x2e: { // STOP
        const v = stack.pop();
        return v instanceof Reconstructed ? finishNd(v) : v;
      }
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x7d: stack.push({}); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break;
      case 0x89: stack.push(false); break;
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x8a: { // LONG1
        const n = u8();
        const b = bytes(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(Number(v));
        break;
      }
      case 0x47: stack.push((need(8), (pos += 8), view.getFloat64(pos - 8, false))); break; // BINFLOAT
      case 0x49: { // INT (text)
        const s = line();
        stack.push(s === '01' ? true : s === '00' ? false : Number(s));
        break;
      }
      case 0x55: stack.push(latin1(bytes(u8()))); break; // SHORT_BINSTRING
      case 0x54: stack.push(latin1(bytes(i32()))); break; // BINSTRING
      case 0x8c: stack.push(Buffer.from(bytes(u8())).toString('utf8')); break; // SHORT_BINUNICODE
      case 0x58: stack.push(Buffer.from(bytes(u32())).toString('utf8')); break; // BINUNICODE
      case 0x8d: stack.push(Buffer.from(bytes(u64())).toString('utf8')); break; // BINUNICODE8
      case 0x43: stack.push(bytes(u8()).slice()); break; // SHORT_BINBYTES
      case 0x42: stack.push(bytes(u32()).slice()); break; // BINBYTES
      case 0x8e: stack.push(bytes(u64()).slice()); break; // BINBYTES8
      case 0x96: stack.push(bytes(u64()).slice()); break; // BYTEARRAY8
      case 0x71: memo.set(u8(), stack[stack.length - 1]); break; // BINPUT
      case 0x72: memo.set(u32(), stack[stack.length - 1]); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, stack[stack.length - 1]); break; // MEMOIZE
      case 0x68: stack.push(memo.get(u8())); break; // BINGET
      case 0x6a: stack.push(memo.get(u32())); break; // LONG_BINGET
      case 0x85: stack.push([stack.pop()]); break; // TUPLE1
      case 0x86: { const b = stack.pop(); const a = stack.pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = stack.pop(); const b = stack.pop(); const a = stack.pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { const d = {}; setItems(d, popMark()); stack.push(d); break; } // DICT
      case 0x61: { const v = stack.pop(); (stack[stack.length - 1] as PyValue[]).push(v); break; } // APPEND
      case 0x65: { const items = popMark(); (stack[stack.length - 1] as PyValue[]).push(...items); break; } // APPENDS
      case 0x73: { const v = stack.pop(); const k = stack.pop(); (stack[stack.length - 1] as Record<string, PyValue>)[keyOf(k)] = v; break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(stack[stack.length - 1] as Record<string, PyValue>, items); break; } // SETITEMS
      case 0x63: { const mod = line(); const nm = line(); stack.push(new Global(mod, nm)); break; } // GLOBAL
      case 0x93: { const nm = stack.pop() as string; const mod = stack.pop() as string; stack.push(new Global(mod, nm)); break; } // STACK_GLOBAL
      case 0x52: { // REDUCE
        const args = stack.pop() as PyValue[];
        const fn = stack.pop();
        if (!(fn instanceof Global)) fail('REDUCE of a non-callable');
        stack.push(callGlobal(fn as Global, args));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = stack.pop() as PyValue[];
        const cls = stack.pop();
        stack.push(callGlobal(cls as Global, args));
        break;
      }
      case 0x62: { // BUILD
        const state = stack.pop();
        const obj = stack[stack.length - 1];
        if (obj instanceof Reconstructed) {
          obj.state = state;
          stack[stack.length - 1] = finishNd(obj);
        } else if (obj && typeof obj === 'object' && '__dtype__' in (obj as object)) {
          (obj as { endian?: string }).endian = (state as PyValue[])[1] as string;
        } else if (obj && typeof obj === 'object' && state && typeof state === 'object') Object.assign(obj, state);
        break;
      }
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16)}`);
    }
  }
}
