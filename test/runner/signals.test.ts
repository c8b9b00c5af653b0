import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isValidCheckpoint, readCheckpointMeta } from '../../src/runner/checkpoint.js';
import { tempDir, TINY_SIMCLR, writeConfig } from './helpers.js';

// Runs the built worker (lib/, from `npm run build`) as a child and signals it after its first log line.
function runAndSignal(args: string[], signal: NodeJS.Signals | null): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/ssl-worker.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let sent = false;
    const onData = (d: Buffer) => {
      out += d.toString();
      if (signal && !sent && out.includes('Epoch [1][1/')) {
        sent = true;
        child.kill(signal);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => resolve({ code, out }));
  });
}

const skip = !existsSync('lib/src/runner/worker-main.js');

(skip ? describe.skip : describe)('signals (built worker)', () => {
  test('SIGUSR1: checkpoint at the next iteration boundary, exit 75; --auto-resume finishes the run', async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, TINY_SIMCLR, (c) => {
      c.runner.max_epochs = 3;
    });
    const w = join(dir, 'w');
    const first = await runAndSignal(['--config', cfg, '--work-dir', w, '--seed', '1', '--backend', 'wasm'], 'SIGUSR1');
    expect(first.code).toBe(75);
    const ckpts = readdirSync(w).filter((f) => /^iter_\d+\.ckpt$/.test(f));
    expect(ckpts).toHaveLength(1);
    const meta = readCheckpointMeta(join(w, ckpts[0]));
    expect(meta.iter).toBeGreaterThanOrEqual(1);
    expect(meta.inner_iter).toBe(meta.iter - meta.epoch * 2);
    expect(isValidCheckpoint(join(w, ckpts[0]))).toBe(true);
    const second = await runAndSignal(['--config', cfg, '--work-dir', w, '--auto-resume', '--backend', 'wasm'], null);
    expect(second.code).toBe(0);
    expect(second.out).toContain(`resumed epoch ${meta.epoch}, iter ${meta.iter}`);
    expect(readCheckpointMeta(join(w, 'epoch_3.ckpt'))).toMatchObject({ epoch: 3, iter: 6, seed: 1 });
  }, 60000);

  test('SIGTERM: stops at an iteration boundary without writing anything half-done, exit 143', async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, TINY_SIMCLR, (c) => {
      c.runner.max_epochs = 3;
    });
    const w = join(dir, 'w');
    const r = await runAndSignal(['--config', cfg, '--work-dir', w, '--backend', 'wasm'], 'SIGTERM');
    expect(r.code).toBe(143);
    expect(r.out).toContain('SIGTERM received');
    const files = readdirSync(w);
    expect(files.filter((f) => f.includes('.tmp-'))).toEqual([]);
    for (const f of files.filter((x) => x.endsWith('.ckpt'))) expect(isValidCheckpoint(join(w, f))).toBe(true);
  }, 60000);
});
