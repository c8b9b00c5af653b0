/** The restricted unpickler: Python's opcodes for data, and no global outside the allowlist. */
import { PyDict, unpickle, type PyCallable } from '../../../src/engine/pth/unpickler.js';
import { torchGlobal } from '../../../src/engine/pth/torch-globals.js';

const b = (...parts: (number[] | string)[]) => Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));
const load = (buf: Uint8Array, globals: (m: string, n: string) => PyCallable | undefined = () => undefined) => unpickle(buf, { name: 't.pkl', globals });

describe('unpickle', () => {
  test('protocol-2 containers, numbers and strings (bytes as Python 3.11 pickle.dumps writes them)', () => {
    // pickle.dumps({'a': [1, -2, 70000, 2**70, 1.5, None, True, 'é'], 'b': (1, 2, 3)}, protocol=2)
    const buf = b(
      [0x80, 2, 0x7d, 0x71, 0, 0x28],
      'X', [1, 0, 0, 0], 'a', [0x71, 1, 0x5d, 0x71, 2, 0x28, 0x4b, 1, 0x4a, 0xfe, 0xff, 0xff, 0xff, 0x4a, 0x70, 0x11, 1, 0],
      [0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0x40], [0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0], [0x4e, 0x88],
      'X', [2, 0, 0, 0], [0xc3, 0xa9], [0x71, 3, 0x65],
      'X', [1, 0, 0, 0], 'b', [0x71, 4, 0x4b, 1, 0x4b, 2, 0x4b, 3, 0x87, 0x71, 5, 0x75, 0x2e],
    );
    const v = load(buf) as PyDict;
    expect(v).toBeInstanceOf(PyDict);
    expect(v.get('a')).toEqual([1, -2, 70000, 2n ** 70n, 1.5, null, true, 'é']);
    expect(v.get('b')).toEqual([1, 2, 3]);
  });

  test('protocol 4: FRAME, SHORT_BINUNICODE, MEMOIZE, BINGET of a shared list', () => {
    // pickle.dumps([x, x], protocol=4) with x = []
    const buf = b([0x80, 4, 0x95, 9, 0, 0, 0, 0, 0, 0, 0, 0x5d, 0x94, 0x28, 0x5d, 0x94, 0x68, 1, 0x65, 0x2e]);
    const v = load(buf) as unknown[][];
    expect(v).toEqual([[], []]);
    expect(v[0]).toBe(v[1]);
  });

  test('a global outside the allowlist is refused by name, before anything is called', () => {
    const called: string[] = [];
    const globals = (m: string, n: string) => (m === 'collections' ? { qualname: `${m}.${n}`, call: () => called.push(n) } : undefined);
    // cos\nsystem\n(S'touch x'\ntR.
    const buf = b('cposix\nsystem\n(X', [7, 0, 0, 0], 'touch x', 'tR.');
    expect(() => load(buf, globals)).toThrow(/refusing to load global posix\.system/);
    expect(called).toEqual([]);
    // STACK_GLOBAL is checked the same way
    const sg = b([0x80, 4, 0x8c, 8], 'builtins', [0x8c, 4], 'eval', [0x93, 0x2e]);
    expect(() => load(sg, globals)).toThrow(/refusing to load global builtins\.eval/);
  });

  test('the torch allowlist: OrderedDict and rebuild functions yes, torch.load internals no', () => {
    expect(torchGlobal('collections', 'OrderedDict')?.qualname).toBe('collections.OrderedDict');
    expect(torchGlobal('torch._utils', '_rebuild_tensor_v2')).toBeDefined();
    expect(torchGlobal('torch', 'BFloat16Storage')).toBeDefined();
    for (const [m, n] of [['builtins', 'eval'], ['os', 'system'], ['torch', 'load'], ['torch.serialization', 'load'], ['numpy', 'load'], ['subprocess', 'Popen']]) {
      expect(torchGlobal(m, n)).toBeUndefined();
    }
  });

  test('malformed streams are errors with the byte position: truncation, bad memo, stack underflow, unknown opcode', () => {
    expect(() => load(b([0x80, 2, 0x58, 10, 0, 0, 0], 'abc'))).toThrow(/truncated pickle/);
    expect(() => load(b([0x80, 2, 0x68, 5, 0x2e]))).toThrow(/memo entry 5 is not defined/);
    expect(() => load(b([0x80, 2, 0x73, 0x2e]))).toThrow(/stack underflow/);
    expect(() => load(b([0x80, 2, 0xff]))).toThrow(/unsupported pickle opcode 0xff/);
    expect(() => load(b([0x80, 2, 0x4e]))).toThrow(/truncated pickle/);
    expect(() => load(b([0x80, 2, 0x8e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]))).toThrow(/runs past the end/);
    // REDUCE of something that is not an allowed callable (a string)
    expect(() => load(b([0x80, 2, 0x55, 1], 'x', [0x29, 0x52, 0x2e]))).toThrow(/not an allowed global/);
  });
});
