import { join } from 'node:path';
import { parse } from 'yaml';
import { writeTree } from '../helpers/tmp-files.js';
import { runCli } from '../helpers/run-cli.js';

describe('ssl config show', () => {
  const root = writeTree({
    'configs/selfsup/_base_/models/m.yaml': 'model: {type: SimCLR, neck: {type: NonLinearNeck, in_channels: 2048}}\n',
    'configs/selfsup/simclr/simclr_resnet50_8xb32-coslr-200e_in1k.yaml': '_base_: ../_base_/models/m.yaml\noptimizer: {type: LARS, lr: 0.3}\n',
    'bad.yaml': 'model: [1,\n',
  });
  const cfgPath = join(root, 'configs/selfsup/simclr/simclr_resnet50_8xb32-coslr-200e_in1k.yaml');

  test('prints the resolved config as YAML, with --cfg-options applied', () => {
    const r = runCli(['config', 'show', cfgPath, '--cfg-options', 'optimizer.lr=0.6', 'model.neck.in_channels=512']);
    expect(r.status).toBe(0);
    expect(parse(r.stdout)).toEqual({ model: { type: 'SimCLR', neck: { type: 'NonLinearNeck', in_channels: 512 } }, optimizer: { type: 'LARS', lr: 0.6 } });
  });

  test('--format json prints canonical JSON', () => {
    const r = runCli(['config', 'show', cfgPath, '--format', 'json']);
    expect(JSON.parse(r.stdout).optimizer).toEqual({ lr: 0.3, type: 'LARS' });
  });

  test('--info reads the file name and the default work dir', () => {
    const r = runCli(['config', 'show', cfgPath, '--info']);
    expect(r.stdout).toContain('# batch: 8 GPUs x 32 per GPU = 256');
    expect(r.stdout).toContain('# schedule: 200 epochs');
    expect(r.stdout).toContain('# work_dir: work_dirs/selfsup/simclr/simclr_resnet50_8xb32-coslr-200e_in1k');
  });

  test.each([
    [['config', 'show', 'missing.yaml'], /config file not found: missing\.yaml/],
    [['config', 'show', 'bad.yaml'], /YAML syntax error at bad\.yaml:\d+:\d+/],
    [['config', 'show', 'configs/selfsup/simclr/simclr_resnet50_8xb32-coslr-200e_in1k.yaml', '--cfg-options', 'optimizer'], /not key=value/],
  ])('bad input %j: one-line error, exit code 2, no stack', (args, message) => {
    const r = runCli(args, { cwd: root });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });

  test('--debug adds the stack trace', () => {
    const r = runCli(['config', 'show', 'missing.yaml', '--debug'], { cwd: root });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/at .*load\.js:\d+/);
  });

  test('--help lists every flag with a description', () => {
    const r = runCli(['config', 'show', '--help']);
    for (const flag of ['--cfg-options', '--format', '--info', '--debug']) expect(r.stdout).toContain(flag);
  });
});
