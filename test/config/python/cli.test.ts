import { join } from 'node:path';
import { runCli } from '../../helpers/run-cli.js';
import { writeTree } from '../../helpers/tmp-files.js';

// Runs the built CLI (npm run build first), as a user would.
describe('ssl config convert / show with .py configs', () => {
  const root = writeTree({
    'configs/_base_/model.py': "model = dict(type='SimCLR', backbone=dict(type='ResNet', depth=50))\nnum_classes = 10\n",
    'configs/simclr.py': "_base_ = '_base_/model.py'\nmodel = dict(head=dict(num_classes={{_base_.num_classes}}))\nlr = 0.3 * 2\n",
    'configs/swin.py': "custom_imports = dict(imports='mmcls.models', allow_failed_imports=False)\nmodel = dict(backbone=dict(type='mmcls.SwinTransformer'))\n",
    'bad.py': 'model = dict(\n    layers=[dict(type=t) for t in names])\n',
  });

  test('convert writes YAML (bases alongside) that shows the same config as the .py', () => {
    const r = runCli(['config', 'convert', 'configs/simclr.py', '-o', 'yaml/simclr.yaml'], { cwd: root });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('wrote yaml/simclr.yaml\nwrote yaml/_base_/model.yaml\n');
    const fromPy = runCli(['config', 'show', 'configs/simclr.py', '--format', 'json'], { cwd: root });
    const fromYaml = runCli(['config', 'show', 'yaml/simclr.yaml', '--format', 'json'], { cwd: root });
    expect(JSON.parse(fromPy.stdout)).toEqual({ model: { type: 'SimCLR', backbone: { type: 'ResNet', depth: 50 }, head: { num_classes: 10 } }, num_classes: 10, lr: 0.6 });
    expect(fromYaml.stdout).toBe(fromPy.stdout);
  });

  test('show prints the custom_imports warning on stderr and the config on stdout', () => {
    const r = runCli(['config', 'show', join(root, 'configs/swin.py'), '--format', 'json']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^Warning: custom_imports: "mmcls\.models" is a Python module .* uses mmcls\.SwinTransformer from it/);
    expect(JSON.parse(r.stdout).model.backbone.type).toBe('mmcls.SwinTransformer');
  });

  test.each([['show'], ['convert']])('%s of unsupported Python: one-line error with file:line:col, exit code 2', (verb) => {
    const r = runCli(['config', verb, 'bad.py'], { cwd: root });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('Error: unsupported syntax: list comprehension at bad.py:2:26');
  });
});
