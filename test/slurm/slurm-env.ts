import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onPath } from '../../launchers/slurm/commands.js';
import { REPO_ROOT, runCli, type CliResult } from '../helpers/run-cli.js';

export const SCRIPTED_WORKER = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'scripted-worker.js');
/** The trainer's tiny config: 2 iterations of SimCLR on 16 synthetic images (1 per epoch on 2 ranks). */
export const TINY_CONFIG = join(REPO_ROOT, 'configs', 'selfsup', 'simclr', 'simclr_resnet18-cifar_1xb8-2it_synthetic.yaml');

function slurmProblem(): string | undefined {
  if (!onPath('sinfo')) return 'no sinfo on PATH (install a local Slurm with `bash tools/slurm-up.sh`)';
  const r = spawnSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8', timeout: 15_000 });
  if (r.status !== 0) return `sinfo fails: ${(r.stderr || '').trim().split('\n')[0]} (start Slurm with \`bash tools/slurm-up.sh\`)`;
  if (!/idle|mixed|allocated/.test(r.stdout)) return `no node takes jobs (sinfo: ${r.stdout.trim()})`;
  return undefined;
}

/** Why the Slurm tests cannot run here, or undefined when a cluster answers. */
export const SLURM_PROBLEM = slurmProblem();

/**
 * `describe` for tests that need a running Slurm. Without one they are skipped with the reason in
 * their title, except with CI=true, where a missing Slurm is a failing test.
 */
export function describeSlurm(name: string, fn: () => void): void {
  if (!SLURM_PROBLEM) {
    describe(name, fn);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      test('needs a running Slurm (CI=true: not skipped)', () => {
        throw new Error(`Slurm is required in CI: ${SLURM_PROBLEM}`);
      });
    });
    return;
  }
  console.warn(`Skipping "${name}": ${SLURM_PROBLEM}`);
  describe.skip(`${name} [skipped: ${SLURM_PROBLEM}]`, fn);
}

const sandboxes: string[] = [];
// Work dirs hold checkpoints (MBs each); SSL_KEEP_TEST_DIRS=1 keeps them for a look after a failure.
afterAll(() => {
  if (process.env.SSL_KEEP_TEST_DIRS !== '1') for (const d of sandboxes.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh work dir, a private job index (SSL_STATE_DIR) and env for the CLI; removed after the file's tests. */
export function sandbox(extraEnv: NodeJS.ProcessEnv = {}): { dir: string; workDir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), 'ssl-slurm-'));
  sandboxes.push(dir);
  return { dir, workDir: join(dir, 'work'), env: { SSL_STATE_DIR: join(dir, 'state'), ...extraEnv } };
}

/** A config the lead's prepareTrainJob resolves (the scripted worker ignores its content). */
export function scratchConfig(dir: string): string {
  const path = join(dir, 'scripted.yaml');
  writeFileSync(path, 'model:\n  type: SimCLR\ntotal_iters: 1\n');
  return path;
}

export function cli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): CliResult {
  return runCli(args, { env, timeoutMs });
}

export function jobIdIn(workDir: string): string {
  return readFileSync(join(workDir, 'slurm_job_id'), 'utf8').trim();
}

/** Polls `check` every 300 ms until it returns true or `timeoutMs` passes. */
export async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** A PATH holding only `node` (a symlink in a fresh dir): no Slurm commands on it. */
export function pathWithoutSlurm(dir: string): string {
  const bin = join(dir, 'bin-node-only');
  mkdirSync(bin, { recursive: true });
  symlinkSync(process.execPath, join(bin, 'node'));
  return bin;
}
