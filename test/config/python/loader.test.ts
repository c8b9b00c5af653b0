import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../../src/config/index.js';
import { CONVERTED_HEADER, convertPythonConfig } from '../../../src/config/python/convert.js';
import { pythonImportWarnings } from '../../../src/config/python/index.js';
import { ConfigError } from '../../../src/errors.js';
import { writeTree } from '../../helpers/tmp-files.js';

function loadError(path: string): ConfigError {
  try {
    loadConfig(path);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('no error');
}

describe('.py configs in the loader', () => {
  const root = writeTree({
    'base/model.py': "model = dict(type='SimCLR', neck=dict(type='NonLinearNeck', in_channels=2048), sizes=[1, 2])\nnum_classes = 10\n",
    'base/sched.yaml': 'optimizer: {type: LARS, lr: 0.3, weight_decay: 1.0e-6}\n',
    'mixed.py': `_base_ = ['./base/model.py', './base/sched.yaml']
model = dict(neck=dict(in_channels=512), sizes=[3], head=dict(num_classes={{_base_.num_classes}}))
optimizer = dict(lr=0.6 * 2)
`,
    'child.yaml': '_base_: mixed.py\nmodel: {neck: {_delete_: true, type: Identity}}\n',
    'bad/child.yaml': '_base_: leaf.py\n',
    'bad/leaf.py': "_base_ = '../base/model.py'\nmodel = dict(x=[i for i in range(2)])\n",
  });

  test('_base_ chains mix .py and .yaml; dicts merge, lists replace, {{_base_.x}} reads the merged bases', () => {
    expect(loadConfig(join(root, 'mixed.py'))).toEqual({
      model: { type: 'SimCLR', neck: { type: 'NonLinearNeck', in_channels: 512 }, sizes: [3], head: { num_classes: 10 } },
      num_classes: 10,
      optimizer: { type: 'LARS', lr: 1.2, weight_decay: 1e-6 },
    });
  });

  test('a YAML child of a .py base, with _delete_, and --cfg-options on a .py config', () => {
    const cfg = loadConfig(join(root, 'child.yaml'), { cfgOptions: ['optimizer.lr=0.1', 'model.sizes=[7,8]'] });
    expect(cfg.model).toEqual({ type: 'SimCLR', neck: { type: 'Identity' }, sizes: [7, 8], head: { num_classes: 10 } });
    expect((cfg.optimizer as { lr: number }).lr).toBe(0.1);
  });

  test('unsupported Python names the file, line and column', () => {
    expect(loadError(join(root, 'bad/leaf.py')).message).toBe(`unsupported syntax: list comprehension at ${join(root, 'bad/leaf.py')}:2:19`);
    expect(loadError(join(root, 'bad/child.yaml')).message).toMatch(/list comprehension at .*bad\/leaf\.py:2:19$/);
  });

  test('convert keeps _base_ and {{_base_.x}}, converts .py bases, references YAML bases where they are', () => {
    const out = join(root, 'out', 'nested', 'mixed.yaml');
    const { written } = convertPythonConfig(join(root, 'mixed.py'), { out });
    expect(written).toEqual([out, join(root, 'out', 'nested', 'base', 'model.yaml')]);
    const doc = parse(readFileSync(out, 'utf8'));
    expect(doc._base_).toEqual(['base/model.yaml', '../../base/sched.yaml']);
    expect(doc.model.head.num_classes).toBe('{{_base_.num_classes}}');
    expect(readFileSync(join(root, 'out/nested/base/model.yaml'), 'utf8')).toMatch(/^# Converted by `ssl config convert` from \.\.\/\.\.\/\.\.\/base\/model\.py\n/);
    expect(loadConfig(out)).toEqual(loadConfig(join(root, 'mixed.py')));
  });

  test('convert writes floats with a decimal point and refuses to overwrite a file it did not write', () => {
    const dir = writeTree({ 'f.py': 'a = 1.\nb = 1\nc = 4 / 2\n', 'f.yaml': 'mine: 1\n' });
    expect(() => convertPythonConfig(join(dir, 'f.py'))).toThrow(/f\.yaml exists and was not written by ssl config convert; pass --force/);
    convertPythonConfig(join(dir, 'f.py'), { force: true });
    const text = readFileSync(join(dir, 'f.yaml'), 'utf8');
    expect(text.startsWith(CONVERTED_HEADER)).toBe(true);
    expect(text).toContain('a: 1.0\nb: 1\nc: 2.0\n');
    convertPythonConfig(join(dir, 'f.py')); // its own output may be rewritten
  });

  test('--flatten writes the resolved config without _base_', () => {
    const out = join(root, 'flat.yaml');
    convertPythonConfig(join(root, 'mixed.py'), { out, flatten: true });
    expect(existsSync(out)).toBe(true);
    const doc = parse(readFileSync(out, 'utf8'));
    expect(doc._base_).toBeUndefined();
    expect(doc).toEqual(loadConfig(join(root, 'mixed.py')));
  });

  test('convert without --flatten reads only .py files', () => {
    expect(() => convertPythonConfig(join(root, 'child.yaml'), { out: join(root, 'x.yaml') })).toThrow(/is not a Python config/);
  });
});

describe('pythonImportWarnings', () => {
  test('names the Python module and the types scoped by its package or named after its file', () => {
    const cfg = {
      custom_imports: { imports: ['mmcls.models', 'mmselfsup.models.utils.res_layer_extra_norm', 'mmdet.other', './plugin.js'], allow_failed_imports: false },
      model: { type: 'Wrapper', backbone: { type: 'mmcls.SwinTransformer' }, layers: [{ type: 'ResLayerExtraNorm' }, { type: 'mmcls.LinearClsHead' }] },
    };
    const warnings = pythonImportWarnings(cfg);
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(/"mmcls\.models" is a Python module .* uses mmcls\.SwinTransformer, mmcls\.LinearClsHead from it/);
    expect(warnings[1]).toMatch(/"mmselfsup\.models\.utils\.res_layer_extra_norm" .* uses ResLayerExtraNorm from it/);
    expect(warnings[2]).toMatch(/"mmdet\.other" .* no type in the config is scoped "mmdet\."/);
  });

  test('no custom_imports, no warnings', () => {
    expect(pythonImportWarnings({ model: { type: 'SimCLR' } })).toEqual([]);
  });
});

describe('a .py file written by hand', () => {
  test('keeps Python semantics the loader relies on (no float/int confusion in JSON)', () => {
    const dir = writeTree({ 'a.py': "lr = 0.1 * 8 / 256\nflag = True\nsize = 224 // 2\nname = 'x' + '_' * 2\n" });
    writeFileSync(join(dir, 'b.yaml'), '_base_: a.py\nflag: false\n');
    expect(loadConfig(join(dir, 'b.yaml'))).toEqual({ lr: (0.1 * 8) / 256, flag: false, size: 112, name: 'x__' });
  });
});
