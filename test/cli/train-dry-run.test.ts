/** Issue 24, item 6: ssl train --dry-run (launchers none and local) builds what a run builds, fails as it would, writes nothing. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runCli } from '../helpers/run-cli.js';
import { writeTree } from '../helpers/tmp-files.js';

const TINY = join(REPO_ROOT, 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml');

/** The `Error: ...` lines of stderr (the one-line error), without log lines. */
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('Error:') || l.includes(' - ERROR - '));

describe('ssl train --dry-run', () => {
  test('launcher none: builds model and data, prints the worker command, creates no work dir', () => {
    const dir = writeTree({ 'keep.txt': '' });
    const wd = join(dir, 'wd');
    const r = runCli(['train', TINY, '--work-dir', wd, '--dry-run', '--backend', 'wasm'], { cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`ssl-worker --config ${join(wd, 'simclr_resnet18-cifar_1xb8-2it_synthetic.json')} --work-dir ${wd}`);
    expect(r.stderr).toMatch(/--dry-run: built SimCLR \(\d+ parameters\), 2 batches per epoch \(first batch \[8, 32, 32, 3\] \+ \[8, 32, 32, 3\]\); nothing trained, nothing written/);
    expect(existsSync(wd)).toBe(false);
    expect(readdirSync(dir)).toEqual(['keep.txt']);
  });

  test('launcher local: the same build, then the per-rank command lines', () => {
    const dir = writeTree({ 'keep.txt': '' });
    const wd = join(dir, 'wd');
    const r = runCli(['train', TINY, '--launcher', 'local', '--gpus', '2', '--work-dir', wd, '--dry-run', '--backend', 'wasm'], { cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('--dry-run: built SimCLR');
    expect(r.stdout).toContain('# rank 1 (local rank 1)');
    expect(existsSync(wd)).toBe(false);
  });

  test.each([
    ['a model that cannot be built', ['--cfg-options', 'model.backbone.type=ResNetX'], /unknown backbone type "ResNetX"; did you mean ResNet/],
    ['a data source that cannot be built', ['--cfg-options', 'data.train.data_source.type=SyntheticShape'], /unknown data source type "SyntheticShape"/],
    ['a --load-from file that does not exist', ['--load-from', '/nonexistent/x.ckpt'], /--load-from: \/nonexistent\/x\.ckpt does not exist/],
  ])('%s: exit 2 with the error a real run gives, nothing written', (_what, extra, message) => {
    const dir = writeTree({ 'keep.txt': '' });
    const dry = runCli(['train', TINY, '--work-dir', join(dir, 'dry'), '--dry-run', '--backend', 'wasm', ...extra], { cwd: dir });
    expect(dry.status).toBe(2);
    expect(errorLines(dry.stderr)).toEqual([expect.stringMatching(message)]);
    expect(existsSync(join(dir, 'dry'))).toBe(false);
    const real = runCli(['train', TINY, '--work-dir', join(dir, 'real'), '--backend', 'wasm', ...extra], { cwd: dir });
    expect(real.status).toBe(2);
    const msg = (l: string) => l.replace(/^.* - ERROR - /, '').replace(/^Error: /, '');
    expect(errorLines(real.stdout + real.stderr).map(msg)).toEqual(errorLines(dry.stderr).map(msg));
  });
});
