import { join } from 'node:path';
import { loadConfig, resolveConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { writeTree } from '../helpers/tmp-files.js';

function load(files: Record<string, string>, entry: string, cfgOptions: string[] = []) {
  const root = writeTree(files);
  return loadConfig(join(root, entry), { cfgOptions });
}

function loadError(files: Record<string, string>, entry: string, cfgOptions: string[] = []): ConfigError {
  try {
    load(files, entry, cfgOptions);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('_base_ inheritance', () => {
  test('a single base as a string', () => {
    const cfg = load({ 'a.yaml': 'x: 1\ny: 2\n', 'b.yaml': '_base_: a.yaml\ny: 3\n' }, 'b.yaml');
    expect(cfg).toEqual({ x: 1, y: 3 });
  });

  test('a list of bases, relative to the file that names them', () => {
    const cfg = load(
      {
        '_base_/models/m.yaml': 'model: {type: SimCLR}\n',
        '_base_/datasets/d.yaml': 'data: {samples_per_gpu: 32}\n',
        'selfsup/simclr/c.yaml': '_base_: [../../_base_/models/m.yaml, ../../_base_/datasets/d.yaml]\n',
      },
      'selfsup/simclr/c.yaml',
    );
    expect(cfg).toEqual({ model: { type: 'SimCLR' }, data: { samples_per_gpu: 32 } });
  });

  test('three levels deep: grandchild overrides child overrides base', () => {
    const cfg = load(
      {
        'a.yaml': 'model: {type: MoCo, queue_len: 65536, backbone: {type: ResNet, depth: 50, norm_cfg: {type: BN}}}\nlr: 0.03\n',
        'b.yaml': '_base_: a.yaml\nmodel: {backbone: {depth: 18}}\n',
        'c.yaml': '_base_: b.yaml\nmodel: {backbone: {norm_cfg: {type: SyncBN}}, queue_len: 4096}\n',
      },
      'c.yaml',
    );
    expect(cfg).toEqual({
      model: { type: 'MoCo', queue_len: 4096, backbone: { type: 'ResNet', depth: 18, norm_cfg: { type: 'SyncBN' } } },
      lr: 0.03,
    });
  });

  test('dicts merge recursively while lists are replaced whole', () => {
    const cfg = load(
      { 'a.yaml': 'p: [1, 2, 3]\nd: {a: 1, b: {c: 2}}\n', 'b.yaml': '_base_: a.yaml\np: [9]\nd: {b: {e: 3}}\n' },
      'b.yaml',
    );
    expect(cfg).toEqual({ p: [9], d: { a: 1, b: { c: 2, e: 3 } } });
  });

  test('a child scalar replaces a base dict', () => {
    expect(load({ 'a.yaml': 'x: {a: 1}\n', 'b.yaml': '_base_: a.yaml\nx: 5\n' }, 'b.yaml')).toEqual({ x: 5 });
  });

  test('a child dict over a base scalar is an error that suggests _delete_', () => {
    const e = loadError({ 'a.yaml': 'x: 5\n', 'b.yaml': '_base_: a.yaml\nx: {a: 1}\n' }, 'b.yaml');
    expect(e.message).toMatch(/x is a dict in the child config but a number in its base.*_delete_/);
  });

  test('_delete_: true replaces the base dict instead of merging', () => {
    const cfg = load(
      { 'a.yaml': 'lr_config: {policy: Step, step: [30, 60], gamma: 0.1}\n', 'b.yaml': '_base_: a.yaml\nlr_config: {_delete_: true, policy: CosineAnnealing, min_lr: 0.0}\n' },
      'b.yaml',
    );
    expect(cfg.lr_config).toEqual({ policy: 'CosineAnnealing', min_lr: 0 });
  });

  test('_delete_ in a nested dict only replaces that dict', () => {
    const cfg = load(
      { 'a.yaml': 'model: {neck: {type: A, x: 1}, head: {type: H, t: 0.1}}\n', 'b.yaml': '_base_: a.yaml\nmodel: {neck: {_delete_: true, type: B}, head: {t: 0.2}}\n' },
      'b.yaml',
    );
    expect(cfg.model).toEqual({ neck: { type: 'B' }, head: { type: 'H', t: 0.2 } });
  });

  test('_delete_ is consumed even where the base has no such key', () => {
    const cfg = load({ 'a.yaml': 'x: 1\n', 'b.yaml': '_base_: a.yaml\nnew: {_delete_: true, a: 1}\n' }, 'b.yaml');
    expect(cfg.new).toEqual({ a: 1 });
  });

  test('_delete_ under a list item dict in a replacing list is stripped', () => {
    const cfg = load(
      { 'a.yaml': 'pipeline: [{type: A, p: 1}]\n', 'b.yaml': '_base_: a.yaml\npipeline: [{_delete_: true, type: B}]\n' },
      'b.yaml',
    );
    expect(cfg.pipeline).toEqual([{ type: 'B' }]);
  });

  test('_delete_ under a list item dict via --cfg-options replaces that item', () => {
    const cfg = load({ 'a.yaml': 'pipeline: [{type: A, p: 1}, {type: C, q: 2}]\n' }, 'a.yaml', ['pipeline.1._delete_=True', 'pipeline.1.type=D']);
    expect(cfg.pipeline).toEqual([{ type: 'A', p: 1 }, { type: 'D' }]);
  });

  test('a key defined by two bases of one file is an error naming both files', () => {
    const e = loadError({ 'a.yaml': 'x: 1\n', 'b.yaml': 'x: 2\n', 'c.yaml': '_base_: [a.yaml, b.yaml]\n' }, 'c.yaml');
    expect(e.message).toMatch(/key "x" is defined by two bases of .*c\.yaml: .*a\.yaml and .*b\.yaml/);
  });

  test('the same key in a base and its own base is not a duplicate', () => {
    expect(load({ 'a.yaml': 'x: 1\n', 'b.yaml': '_base_: a.yaml\nx: 2\n', 'c.yaml': '_base_: [b.yaml]\n' }, 'c.yaml')).toEqual({ x: 2 });
  });

  test('any top-level key is allowed as an intermediate variable', () => {
    const cfg = load({ 'a.yaml': 'img_norm_cfg: {mean: [0.5], std: [0.2]}\ntrain_pipeline: [{type: Normalize, mean: [0.5]}]\n' }, 'a.yaml');
    expect(Object.keys(cfg)).toEqual(['img_norm_cfg', 'train_pipeline']);
  });

  test('YAML anchors and aliases work inside one file', () => {
    const cfg = load({ 'a.yaml': 'norm: &norm {mean: [0.1], std: [0.3]}\npipeline: [{type: Normalize, <<: *norm}]\nother: *norm\n' }, 'a.yaml');
    expect(cfg.pipeline).toEqual([{ type: 'Normalize', mean: [0.1], std: [0.3] }]);
    expect(cfg.other).toEqual({ mean: [0.1], std: [0.3] });
  });

  test('JSON files inherit from YAML files and vice versa', () => {
    const cfg = load({ 'a.json': '{"x": {"a": 1}}', 'b.yaml': '_base_: a.json\nx: {b: 2}\n', 'c.json': '{"_base_": "b.yaml", "y": true}' }, 'c.json');
    expect(cfg).toEqual({ x: { a: 1, b: 2 }, y: true });
  });

  test('an empty YAML file is an empty config', () => {
    expect(load({ 'a.yaml': '', 'b.yaml': '_base_: a.yaml\nz: 1\n' }, 'b.yaml')).toEqual({ z: 1 });
  });

  test('resolveConfig names the file a key came from', () => {
    const root = writeTree({ 'a.yaml': 'model: {neck: {in_channels: 2048}}\n', 'b.yaml': '_base_: a.yaml\nmodel: {head: {t: 0.1}}\n' });
    const r = resolveConfig(join(root, 'b.yaml'), { cfgOptions: ['optimizer.lr=0.1'] });
    expect(r.sourceOf('model.neck.in_channels')).toBe(join(root, 'a.yaml'));
    expect(r.sourceOf('model.head.t')).toBe(join(root, 'b.yaml'));
    expect(r.sourceOf('optimizer.lr')).toBe('--cfg-options');
  });
});

describe('{{_base_.x}} references', () => {
  const base = 'model: {type: BYOL, neck: {in_channels: 2048}}\ntrain_pipeline: [{type: RandomResizedCrop, size: 224}, {type: ToTensor}]\nlr: 0.2\nname: byol\n';

  test('a reference to a list as a whole value keeps the list', () => {
    const cfg = load({ 'a.yaml': base, 'b.yaml': '_base_: a.yaml\npipe: {{_base_.train_pipeline}}\n' }, 'b.yaml');
    expect(cfg.pipe).toEqual([{ type: 'RandomResizedCrop', size: 224 }, { type: 'ToTensor' }]);
  });

  test('a reference to a dict as a whole value keeps the dict (quoted form too)', () => {
    const cfg = load({ 'a.yaml': base, 'b.yaml': '_base_: a.yaml\nm: "{{ _base_.model.neck }}"\n' }, 'b.yaml');
    expect(cfg.m).toEqual({ in_channels: 2048 });
  });

  test('a reference to a number keeps the number type', () => {
    const cfg = load({ 'a.yaml': base, 'b.yaml': '_base_: a.yaml\nopt: {lr: {{_base_.lr}}}\n' }, 'b.yaml');
    expect(cfg.opt).toEqual({ lr: 0.2 });
  });

  test('inside a longer string a reference is substituted as text', () => {
    const cfg = load({ 'a.yaml': base, 'b.yaml': '_base_: a.yaml\nwork_dir: "work_dirs/{{_base_.name}}_lr{{_base_.lr}}"\n' }, 'b.yaml');
    expect(cfg.work_dir).toBe('work_dirs/byol_lr0.2');
  });

  test('references index into lists', () => {
    const cfg = load({ 'a.yaml': base, 'b.yaml': '_base_: a.yaml\ncrop: {{_base_.train_pipeline.0.size}}\n' }, 'b.yaml');
    expect(cfg.crop).toBe(224);
  });

  test('references read the merged bases, not the referencing file', () => {
    const cfg = load({ 'a.yaml': base, 'b.yaml': '_base_: a.yaml\nlr: 0.9\nlr_copy: {{_base_.lr}}\n' }, 'b.yaml');
    expect(cfg.lr).toBe(0.9);
    expect(cfg.lr_copy).toBe(0.2);
  });

  test('a referenced value is a copy, not shared', () => {
    const cfg = load({ 'a.yaml': base, 'b.yaml': '_base_: a.yaml\npipe: {{_base_.train_pipeline}}\n' }, 'b.yaml', ['pipe.0.size=96']);
    expect(cfg.pipe).toEqual([{ type: 'RandomResizedCrop', size: 96 }, { type: 'ToTensor' }]);
    expect((cfg.train_pipeline as Array<Record<string, unknown>>)[0]!.size).toBe(224);
  });

  test('an unknown reference is an error naming the key and the file', () => {
    const e = loadError({ 'a.yaml': base, 'b.yaml': '_base_: a.yaml\nx: {{_base_.model.nope}}\n' }, 'b.yaml');
    expect(e.message).toMatch(/b\.yaml: \{\{_base_\.model\.nope\}\} refers to "model\.nope", which its base files do not define/);
  });

  test('a reference in a file without _base_ is an error', () => {
    const e = loadError({ 'a.yaml': 'x: {{_base_.y}}\n' }, 'a.yaml');
    expect(e.message).toMatch(/has no _base_/);
  });

  test('predefined variables like {{ fileBasenameNoExtension }} are substituted', () => {
    const cfg = load({ 'my_run.yaml': 'work_dir: "work_dirs/{{ fileBasenameNoExtension }}"\n' }, 'my_run.yaml');
    expect(cfg.work_dir).toBe('work_dirs/my_run');
  });
});

describe('bad input', () => {
  test('a missing config file', () => {
    const e = loadError({}, 'nope.yaml');
    expect(e.message).toMatch(/config file not found: .*nope\.yaml/);
  });

  test('a missing base file names the missing path and the file that referenced it', () => {
    const e = loadError({ 'b.yaml': '_base_: ../gone/a.yaml\n' }, 'b.yaml');
    expect(e.message).toMatch(/config file not found: .*gone\/a\.yaml, named in _base_ of .*b\.yaml/);
  });

  test('a _base_ cycle prints the cycle', () => {
    const e = loadError({ 'a.yaml': '_base_: b.yaml\n', 'b.yaml': '_base_: c.yaml\n', 'c.yaml': '_base_: a.yaml\n' }, 'a.yaml');
    expect(e.message).toMatch(/_base_ cycle: .*a\.yaml -> .*b\.yaml -> .*c\.yaml -> .*a\.yaml/);
  });

  test('a file that names itself as base is a cycle', () => {
    expect(loadError({ 'a.yaml': '_base_: a.yaml\n' }, 'a.yaml').code).toBe('BASE_CYCLE');
  });

  test('YAML syntax errors give line and column', () => {
    const e = loadError({ 'a.yaml': 'model:\n  type: SimCLR\n  neck: [1, 2\n' }, 'a.yaml');
    expect(e.message).toMatch(/YAML syntax error at .*a\.yaml:\d+:\d+/);
  });

  test('YAML duplicate keys are an error', () => {
    expect(loadError({ 'a.yaml': 'x: 1\nx: 2\n' }, 'a.yaml').message).toMatch(/YAML syntax error at .*a\.yaml:2:1/);
  });

  test('JSON syntax errors give line and column', () => {
    const e = loadError({ 'a.json': '{\n  "x": 1,\n  "y": \n}' }, 'a.json');
    expect(e.message).toMatch(/JSON syntax error at .*a\.json:\d+:\d+/);
  });

  test('an unsupported extension lists the supported ones', () => {
    expect(loadError({ 'a.toml': 'x = 1' }, 'a.toml').message).toMatch(/unsupported config format "\.toml"; use one of .*\.yaml/);
  });

  test('a top level that is not a mapping', () => {
    expect(loadError({ 'a.yaml': '- 1\n- 2\n' }, 'a.yaml').message).toMatch(/must be a mapping/);
  });

  test('_base_ that is not a path', () => {
    expect(loadError({ 'a.yaml': '_base_: [1]\n' }, 'a.yaml').message).toMatch(/_base_ must be a path or a list of paths/);
  });
});
