/**
 * A restricted Python unpickler (protocols 0-5, the opcodes PyTorch and Python's pickle emit for data).
 * Nothing from the stream is ever executed: a GLOBAL is resolved through `globals`, an allowlist of
 * JavaScript functions, and any other name is refused on the spot with an error naming it
 * (as `torch.load(weights_only=True)` does). REDUCE/NEWOBJ can only call what the allowlist returned.
 *
 * Values: dict -> `PyDict` (a Map, insertion order, any key), list/tuple/set -> arrays, str -> string,
 * bytes -> Uint8Array, int -> number (bigint beyond 2^53), float -> number, None -> null.
 */
import { SslError } from '../../errors.js';

export type PyValue = unknown;

/** A Python dict or OrderedDict; `attrs` holds what BUILD set on it (a state dict's `_metadata`). */
export class PyDict extends Map<PyValue, PyValue> {
  attrs: Map<PyValue, PyValue> | undefined;
}

/** A callable the allowlist hands out for a global; `build` handles BUILD on what it returned. */
export interface PyCallable {
  readonly qualname: string;
  call(args: PyValue[]): PyValue;
}

export interface UnpickleOptions {
  /** Resolves `module.name`; returns undefined for a name that is not allowed. */
  globals: (module: string, name: string) => PyCallable | undefined;
  /** BINPERSID / PERSID: the persistent id -> the object (PyTorch's storages). */
  persistentLoad?: (pid: PyValue) => PyValue;
  /** Names the stream in messages (`resnet18.pth: data.pkl`). */
  name: string;
  /** What to tell the user when a global is refused. */
  refusedHint?: string;
}

const MARK = Symbol('mark');

export function unpickle(buf: Uint8Array, o: UnpickleOptions): PyValue {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  let stack: PyValue[] = [];
  const metastack: PyValue[][] = [];
  const memo = new Map<number, PyValue>();
  const fail = (msg: string): never => {
    throw new SslError(`${o.name}: ${msg} (pickle byte ${pos})`, { code: 'CORRUPT_FILE' });
  };
  const need = (n: number) => {
    if (n < 0 || pos + n > buf.length) fail('truncated pickle');
  };
  const u8 = () => (need(1), buf[pos++]);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(buf.length)) fail(`length ${v} runs past the end of the pickle`);
    return Number(v);
  };
  const bytes = (n: number) => (need(n), (pos += n), buf.subarray(pos - n, pos));
  const line = () => {
    const end = buf.indexOf(10, pos);
    if (end < 0) fail('unterminated line');
    const s = Buffer.from(buf.subarray(pos, end)).toString('latin1');
    pos = end + 1;
    return s;
  };
  const utf8 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
  const pop = (): PyValue => {
    if (stack.length === 0) fail('stack underflow');
    return stack.pop();
  };
  const top = (): PyValue => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1];
  };
  // callers must not read `stack` in the same expression: popMark replaces it
  const popMark = (): PyValue[] => {
    const items = stack;
    const prev = metastack.pop();
    if (prev === undefined) fail('MARK expected');
    stack = prev!;
    return items;
  };
  const memoGet = (i: number) => {
    if (!memo.has(i)) fail(`memo entry ${i} is not defined`);
    return memo.get(i);
  };
  const resolve = (module: string, name: string): PyCallable => {
    const c = o.globals(module, name);
    if (!c) {
      throw new SslError(`${o.name}: refusing to load global ${module}.${name}${o.refusedHint ? ` (${o.refusedHint})` : ''}`, { code: 'UNSAFE_PICKLE' });
    }
    return c;
  };
  const call = (fn: PyValue, args: PyValue): PyValue => {
    if (!isCallable(fn)) fail(`REDUCE/NEWOBJ of something that is not an allowed global`);
    if (!Array.isArray(args)) fail('REDUCE arguments are not a tuple');
    return (fn as PyCallable).call(args as PyValue[]);
  };
  const asList = (v: PyValue): PyValue[] => (Array.isArray(v) ? v : fail('APPEND to something that is not a list'));
  const asDict = (v: PyValue): PyDict => (v instanceof PyDict ? v : fail('SETITEM on something that is not a dict'));
  const setItems = (d: PyDict, items: PyValue[]) => {
    if (items.length % 2 !== 0) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
  };
  const long = (b: Uint8Array): number | bigint => {
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b.length > 0 && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: { const p = u8(); if (p > 5) fail(`pickle protocol ${p} is newer than 5`); break; } // PROTO
      case 0x95: u64(); break; // FRAME (frames are only a hint for buffering)
      case 0x2e: { // STOP
        const v = pop();
        if (stack.length !== 0 || metastack.length !== 0) fail('STOP with values left on the stack');
        return v;
      }
      case 0x28: metastack.push(stack); stack = []; break; // MARK
      case 0x31: popMark(); break; // POP_MARK
      case 0x30: pop(); break; // POP
      case 0x32: stack.push(top()); break; // DUP
      case 0x7d: stack.push(new PyDict()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x8f: stack.push([]); break; // EMPTY_SET (a set becomes an array)
      case 0x90: { const items = popMark(); asList(top()).push(...items); break; } // ADDITEMS
      case 0x91: { const items = popMark(); stack.push(items); break; } // FROZENSET
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x8a: stack.push(long(bytes(u8()))); break; // LONG1
      case 0x8b: { const n = i32(); if (n < 0) fail('negative LONG4 length'); stack.push(long(bytes(n))); break; } // LONG4
      case 0x49: { const s = line(); stack.push(s === '01' ? true : s === '00' ? false : intText(s, fail)); break; } // INT
      case 0x4c: stack.push(intText(line().replace(/L$/, ''), fail)); break; // LONG (text)
      case 0x47: need(8); stack.push(view.getFloat64(pos, false)); pos += 8; break; // BINFLOAT
      case 0x46: stack.push(Number.parseFloat(line())); break; // FLOAT (text)
      case 0x55: stack.push(Buffer.from(bytes(u8())).toString('latin1')); break; // SHORT_BINSTRING
      case 0x54: { const n = i32(); if (n < 0) fail('negative BINSTRING length'); stack.push(Buffer.from(bytes(n)).toString('latin1')); break; } // BINSTRING
      case 0x8c: stack.push(utf8(bytes(u8()))); break; // SHORT_BINUNICODE
      case 0x58: stack.push(utf8(bytes(u32()))); break; // BINUNICODE
      case 0x8d: stack.push(utf8(bytes(u64()))); break; // BINUNICODE8
      case 0x43: stack.push(bytes(u8()).slice()); break; // SHORT_BINBYTES
      case 0x42: stack.push(bytes(u32()).slice()); break; // BINBYTES
      case 0x8e: stack.push(bytes(u64()).slice()); break; // BINBYTES8
      case 0x96: stack.push(bytes(u64()).slice()); break; // BYTEARRAY8
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x70: memo.set(intText(line(), fail) as number, top()); break; // PUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: stack.push(memoGet(u8())); break; // BINGET
      case 0x6a: stack.push(memoGet(u32())); break; // LONG_BINGET
      case 0x67: stack.push(memoGet(intText(line(), fail) as number)); break; // GET
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x74: { const items = popMark(); stack.push(items); break; } // TUPLE
      case 0x6c: { const items = popMark(); stack.push(items); break; } // LIST
      case 0x64: { const d = new PyDict(); setItems(d, popMark()); stack.push(d); break; } // DICT
      case 0x61: { const v = pop(); asList(top()).push(v); break; } // APPEND
      case 0x65: { const items = popMark(); asList(top()).push(...items); break; } // APPENDS
      case 0x73: { const v = pop(); const k = pop(); asDict(top()).set(k, v); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(asDict(top()), items); break; } // SETITEMS
      case 0x63: { const mod = line(); const nm = line(); stack.push(resolve(mod, nm)); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const nm = pop();
        const mod = pop();
        if (typeof nm !== 'string' || typeof mod !== 'string') fail('STACK_GLOBAL of non-strings');
        stack.push(resolve(mod as string, nm as string));
        break;
      }
      case 0x52: { const args = pop(); const fn = pop(); stack.push(call(fn, args)); break; } // REDUCE
      case 0x81: { const args = pop(); const cls = pop(); stack.push(call(cls, args)); break; } // NEWOBJ
      case 0x92: { const kw = pop(); const args = pop(); const cls = pop(); if (!(kw instanceof PyDict) || kw.size > 0) fail('NEWOBJ_EX with keyword arguments'); stack.push(call(cls, args)); break; } // NEWOBJ_EX
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!o.persistentLoad) fail('persistent id in a pickle that takes none');
        stack.push(o.persistentLoad!(pid));
        break;
      }
      case 0x50: { // PERSID
        const pid = line();
        if (!o.persistentLoad) fail('persistent id in a pickle that takes none');
        stack.push(o.persistentLoad!(pid));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof PyDict && state instanceof PyDict) obj.attrs = state; // OrderedDict's attributes (state_dict._metadata)
        else if (isBuildable(obj)) obj.build(state);
        else fail('BUILD on an object that takes no state');
        break;
      }
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16)}`);
    }
  }
}

/** An object an allowed global returned that accepts BUILD (a Parameter's state). */
export interface Buildable {
  build(state: PyValue): void;
}

function isCallable(v: PyValue): v is PyCallable {
  return typeof v === 'object' && v !== null && typeof (v as PyCallable).call === 'function' && typeof (v as PyCallable).qualname === 'string';
}

function isBuildable(v: PyValue): v is Buildable {
  return typeof v === 'object' && v !== null && typeof (v as Buildable).build === 'function';
}

function intText(s: string, fail: (m: string) => never): number | bigint {
  if (!/^[-+]?\d+$/.test(s.trim())) fail(`bad integer "${s}"`);
  const v = BigInt(s.trim());
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}
