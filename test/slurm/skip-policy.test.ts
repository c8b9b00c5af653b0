import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/run-cli.js';
import { pathWithoutSlurm } from './slurm-env.js';

/** Runs one Slurm test file in a child jest whose PATH has no Slurm commands. */
function jestWithoutSlurm(ci: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'ssl-noslurm-'));
  const path = pathWithoutSlurm(dir);
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: path };
  delete env.CI;
  if (ci) env.CI = 'true';
  const jest = join(REPO_ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
  try {
    return spawnSync(process.execPath, ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning', jest, '--ci', 'test/slurm/train.test.ts'], {
      cwd: REPO_ROOT,
      env,
      encoding: 'utf8',
      timeout: 30_000,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('without Slurm on PATH', () => {
  test('the cluster tests are reported skipped, with the reason', () => {
    const r = jestWithoutSlurm(false);
    expect(r.stdout + r.stderr).toMatch(/Skipping "[^"]+": no sinfo on PATH \(install a local Slurm with `bash tools\/slurm-up\.sh`\)/);
    expect(r.stderr).toMatch(/Tests:\s+(\d+) skipped, \1 total/);
    expect(r.status).toBe(0);
  });

  test('with CI=true they fail instead', () => {
    const r = jestWithoutSlurm(true);
    expect(r.stdout + r.stderr).toContain('Slurm is required in CI: no sinfo on PATH');
    expect(r.stderr).toMatch(/Tests:\s+(\d+) failed, \1 total/);
    expect(r.status).not.toBe(0);
  });
});
