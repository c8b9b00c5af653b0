import { parsePythonConfig } from '../../../src/config/python/index.js';
import { ConfigError } from '../../../src/errors.js';

const py = (text: string) => parsePythonConfig(text, 'x.py');

function pyError(text: string): ConfigError {
  try {
    py(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`no error for:\n${text}`);
}

describe('Python config subset: constructs', () => {
  test('top-level assignments keep every name but dunders, in first-assignment order', () => {
    const cfg = py('b = 1\na = 2\n__all__ = 3\n_private = 4\nb = 5\n');
    expect(cfg).toEqual({ b: 5, a: 2, _private: 4 });
    expect(Object.keys(cfg)).toEqual(['b', 'a', '_private']);
  });

  test('dict(k=v) nests; list, tuple and dict literals with trailing commas and comments inside brackets', () => {
    const cfg = py(`
model = dict(
    type='SimCLR',  # the algorithm
    backbone=dict(type='ResNet', depth=50, out_indices=[4],),
    # a comment line inside the call
    neck=dict(type='NonLinearNeck', sizes=(2048, 128,)),
)
paramwise = {'bn': dict(decay_mult=0), '\\\\Ahead.': dict(lr_mult=10)}
empty = [dict(), (), {}, []]
single = (1,)
grouped = (1)
`);
    expect(cfg.model).toEqual({
      type: 'SimCLR',
      backbone: { type: 'ResNet', depth: 50, out_indices: [4] },
      neck: { type: 'NonLinearNeck', sizes: [2048, 128] },
    });
    expect(cfg.paramwise).toEqual({ bn: { decay_mult: 0 }, '\\Ahead.': { lr_mult: 10 } });
    expect(cfg.empty).toEqual([{}, [], {}, []]);
    expect(cfg.single).toEqual([1]);
    expect(cfg.grouped).toBe(1);
  });

  test('string literals: quotes, escapes, raw, triple-quoted, adjacent concatenation', () => {
    const cfg = py(String.raw`
a = 'it\'s'
b = "tab\there\nnewline"
c = '\x41\u00e9\101\\\q'
d = r'\d+\.py'
e = '''multi
line'''
f = 'data/' 'train' "_list.txt"
g = ('a'
     'b')
`);
    expect(cfg).toEqual({
      a: "it's",
      b: 'tab\there\nnewline',
      c: 'AéA\\\\q',
      d: '\\d+\\.py',
      e: 'multi\nline',
      f: 'data/train_list.txt',
      g: 'ab',
    });
  });

  test('numbers: ints, floats (1., 1e-4, .5), negatives, underscores, hex', () => {
    expect(py('a = 1\nb = 1.\nc = 1e-4\nd = .5\ne = -3\nf = 1_000\ng = 0x10\nh = -2.5e3\n')).toEqual({
      a: 1, b: 1, c: 1e-4, d: 0.5, e: -3, f: 1000, g: 16, h: -2500,
    });
  });

  test('ints and floats stay apart: the float hook sees only floats', () => {
    const floats: number[] = [];
    parsePythonConfig('a = 1\nb = 1.\nc = 4 / 2\nd = 2 * 3\ne = 2 * 3.0\nf = 2 ** -1\n', 'x.py', { float: (v) => (floats.push(v), v) });
    expect(floats).toEqual([1, 2, 6, 0.5]);
  });

  test('True/False/None are booleans and null, not numbers', () => {
    const cfg = py('a = True\nb = False\nc = None\nd = dict(x=True)\n');
    expect(cfg).toEqual({ a: true, b: false, c: null, d: { x: true } });
    expect(cfg.a).not.toBe(1);
  });

  test('arithmetic as Python: float division, floor division, power, precedence', () => {
    const cfg = py(`
lr = 1.5e-4 * 4096 / 256
half = 1 / 2
floor = 7 // 2
negfloor = -7 // 2
mod = -7 % 3
pow = 128 * 2**3
negpow = -2 ** 2
inv = 2 ** -1
big = 2 ** 64
ratio = (3. / 4., 4. / 3.)
warmup = 1e-6 / 2e-4
`);
    expect(cfg).toEqual({
      lr: (1.5e-4 * 4096) / 256,
      half: 0.5,
      floor: 3,
      negfloor: -4,
      mod: 2,
      pow: 1024,
      negpow: -4,
      inv: 0.5,
      big: 18446744073709551616,
      ratio: [0.75, 4 / 3],
      warmup: 1e-6 / 2e-4,
    });
  });

  test('+ on strings, lists and tuples; * repeats sequences', () => {
    const cfg = py(`
data_root = 'data/VOC/'
ann = data_root + 'train.txt'
both = [1] + [2, 3]
tup = (1,) + (2,)
zeros = [0] * 3
dashes = '-' * 3
`);
    expect(cfg).toEqual({ data_root: 'data/VOC/', ann: 'data/VOC/train.txt', both: [1, 2, 3], tup: [1, 2], zeros: [0, 0, 0], dashes: '---' });
  });

  test('reading earlier variables shares the object, as Python does (append after use is seen)', () => {
    const cfg = py(`
img_norm_cfg = dict(mean=[0.5], std=[0.2])
train_pipeline = [dict(type='RandomResizedCrop', size=224)]
data = dict(train=dict(pipeline=train_pipeline))
train_pipeline.append(dict(type='Normalize', **img_norm_cfg))
`);
    expect((cfg.data as { train: { pipeline: unknown[] } }).train.pipeline).toEqual([
      { type: 'RandomResizedCrop', size: 224 },
      { type: 'Normalize', mean: [0.5], std: [0.2] },
    ]);
  });

  test('**name inside dict(...) and {...} copies the mapping in order; later keys win in literals', () => {
    const cfg = py(`
base = dict(mean=[1], to_rgb=True)
a = dict(type='Normalize', **base)
b = {**base, 'to_rgb': False}
c = dict(base, extra=1)
`);
    expect(Object.keys(cfg.a as object)).toEqual(['type', 'mean', 'to_rgb']);
    expect(cfg.b).toEqual({ mean: [1], to_rgb: false });
    expect(cfg.c).toEqual({ mean: [1], to_rgb: true, extra: 1 });
  });

  test('if / elif / else blocks with indentation, not, and/or, comparisons, conditional expressions', () => {
    const cfg = py(`
prefetch = False
pipeline = [1]
if not prefetch:
    pipeline.extend([2, 3])
    if prefetch or len_ok == 1:
        pass
    else:
        flag = 'inner'
elif prefetch is None:
    pipeline = []
else:
    pipeline = None
mode = 'a' if 2 in pipeline and 1 < 2 <= 2 else 'b'
same = [1, (2,)] == [1.0, (2,)]
`.replace('len_ok == 1', 'pipeline[0] == 1'));
    expect(cfg).toEqual({ prefetch: false, pipeline: [1, 2, 3], mode: 'a', same: true });
  });

  test('single-line if, semicolons, line continuations, pass', () => {
    expect(py('a = 1; b = 2\nif a: c = 3\nd = 1 + \\\n    2\nif b:\n    pass\n')).toEqual({ a: 1, b: 2, c: 3, d: 3 });
  });

  test('.extend and .append on list variables, += extends in place', () => {
    const cfg = py('a = [1]\nb = a\na.extend((2, 3))\na.append([4])\na += [5]\nn = 1\nn += 2\n');
    expect(cfg).toEqual({ a: [1, 2, 3, [4], 5], b: [1, 2, 3, [4], 5], n: 3 });
  });

  test('subscripts read lists, tuples, dicts and strings', () => {
    expect(py("a = [1, 2, 3]\nb = a[-1]\nc = dict(k='v')['k']\nd = (4, 5)[0]\ne = 'xyz'[1]\n")).toMatchObject({ b: 3, c: 'v', d: 4, e: 'y' });
  });

  test('_base_ as a string or a list, _delete_=True, base-ref placeholders and custom_imports are kept as written', () => {
    expect(py("_base_ = '../base.py'\n")._base_).toBe('../base.py');
    const cfg = py(`
_base_ = ['a.py', 'b.py']
lr_config = dict(_delete_=True, policy='step')
model = dict(head=dict(num_classes="__SSL_BASE_REF_0__"))
custom_imports = dict(imports='mmcls.models', allow_failed_imports=False)
`);
    expect(cfg).toEqual({
      _base_: ['a.py', 'b.py'],
      lr_config: { _delete_: true, policy: 'step' },
      model: { head: { num_classes: '__SSL_BASE_REF_0__' } },
      custom_imports: { imports: 'mmcls.models', allow_failed_imports: false },
    });
  });

  test('a docstring and CRLF line endings are fine', () => {
    expect(py('"""Config docstring."""\r\na = dict(\r\n    x=1)\r\n')).toEqual({ a: { x: 1 } });
  });
});

describe('Python config subset: malformed input gives a ConfigError at file:line:col', () => {
  test.each([
    ['unclosed bracket', 'a = dict(x=1,\n    y=2\n', /"\(" was never closed at x\.py:1:9/],
    ['mismatched bracket', 'a = [1, 2)\n', /closing "\)" does not match "\[" opened at line 1:5 at x\.py:1:10/],
    ['bad dedent', 'if True:\n    a = 1\n  b = 2\n', /bad indentation: .* at x\.py:3:3/],
    ['unexpected indent', 'a = 1\n    b = 2\n', /bad indentation: unexpected indent at x\.py:2:5/],
    ['missing indented block', 'if True:\nb = 1\n', /bad indentation: expected an indented block at x\.py:2:1/],
    ['unknown name', 'a = 1\nb = dict(x=c)\n', /name 'c' is not defined at x\.py:2:12/],
    ['a call other than dict', 'a = list((1, 2))\n', /unsupported syntax: call to list\(\) .* at x\.py:1:5/],
    ['list comprehension', 'a = 1\nb = [i for i in range(3)]\n', /unsupported syntax: list comprehension at x\.py:2:8/],
    ['dict comprehension', "a = {k: 1 for k in 'ab'}\n", /unsupported syntax: dict comprehension at x\.py:1:11/],
    ['generator expression', 'a = dict((k, 1) for k in x)\n', /unsupported syntax: generator expression at x\.py:1:17/],
    ['import', 'import os\n', /unsupported syntax: import statement at x\.py:1:1/],
    ['from import', 'from mmcv import Config\n', /unsupported syntax: import statement at x\.py:1:1/],
    ['function definition', 'def f():\n    return 1\n', /unsupported syntax: function definition at x\.py:1:1/],
    ['for loop', 'for i in [1]:\n    pass\n', /unsupported syntax: for loop at x\.py:1:1/],
    ['lambda', 'a = lambda x: x\n', /unsupported syntax: lambda at x\.py:1:5/],
    ['f-string', "name = 'r50'\na = f'{name}.pth'\n", /unsupported syntax: f-string at x\.py:2:5/],
    ['set literal', 'a = {1, 2}\n', /unsupported syntax: set literal at x\.py:1:5/],
    ['unterminated string', "a = 'abc\n", /unterminated string literal at x\.py:1:5/],
    ['missing comma', 'a = [1 2]\n', /expected "\]" to close the list, found "2" at x\.py:1:8/],
    ['stray character', 'a = 1 $ 2\n', /invalid character "\$" at x\.py:1:7/],
    ['method other than append/extend', 'a = dict()\na.update(b=1)\n', /unsupported syntax: method \.update\(\) .* at x\.py:2:3/],
    ['attribute assignment', 'a = dict()\na.b = 1\n', /unsupported syntax: assignment to an attribute at x\.py:2:1/],
    ['item assignment', "a = dict()\na['k'] = 1\n", /unsupported syntax: assignment to an item at x\.py:2:1/],
    ['assignment to a literal', '1 = a\n', /cannot assign to an expression at x\.py:1:1/],
    ['tuple unpacking', 'a, b = 1, 2\n', /unsupported syntax: unpacking assignment at x\.py:1:1/],
    ['slice', 'a = [1, 2]\nb = a[1:]\n', /unsupported syntax: slice at x\.py:2:8/],
    ['type error', "a = 'x' + 1\n", /unsupported operand types for \+: 'str' and 'int' at x\.py:1:9/],
    ['duplicate keyword', 'a = dict(x=1)\nb = dict(x=2, **a)\n', /dict\(\) got multiple values for keyword argument 'x' at x\.py:2:15/],
    ['non-string dict key', 'a = {1: 2}\n', /dict keys must be strings in a config, got int at x\.py:1:6/],
    ['arithmetic on a base reference', 'lr = "__SSL_BASE_REF_0__" * 2\n', /\{\{_base_\.x\}\} is only replaced after the file runs/],
    ['division by zero', 'a = 1 / 0\n', /division by zero at x\.py:1:7/],
    ['append on a tuple', 'a = (1,)\na.append(2)\n', /'tuple' object has no attribute 'append' at x\.py:2:3/],
    ['missing key', "a = dict(x=1)['y']\n", /KeyError: 'y' at x\.py:1:14/],
    ['bitwise operator', 'a = 1 | 2\n', /unsupported syntax: operator "\|" at x\.py:1:7/],
    ['keyword as a value', 'a = else\n', /unexpected keyword "else" at x\.py:1:5/],
  ])('%s', (_name, text, message) => {
    const err = pyError(text);
    expect(err.message).toMatch(message);
    expect(err.exitCode).toBe(2);
  });
});
