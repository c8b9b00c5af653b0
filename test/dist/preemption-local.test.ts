/**
 * Issue 23: SIGTERM pre-emption of a 2-rank local job (`ssl train --launcher local --gpus 2`, the built CLI).
 * The ranks agree on a stop iteration, rank 0 writes exactly one intact checkpoint, the job exits with the
 * pre-emption code 75; the same command with --auto-resume continues from that iteration, and its losses
 * from there on equal those of an uninterrupted run with the same seed.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/config/index.js';
import { isValidCheckpoint, readCheckpointMeta } from '../../src/runner/checkpoint.js';
import { freePort, REPO } from './helpers.js';

const built = existsSync(join(REPO, 'lib', 'src', 'commands', 'train.js'));

function config(dir: string): string {
  const cfg = resolveConfig(join(REPO, 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml')).cfg as Record<string, any>;
  cfg.data.samples_per_gpu = 4;
  cfg.data.train.data_source.num_samples = 16; // 2 iterations per epoch on each of 2 ranks
  cfg.data.train.data_source.image_size = 16;
  cfg.data.train.pipelines[0][0].size = 16;
  cfg.model.backbone.stem_channels = 4;
  cfg.model.backbone.base_channels = 4;
  cfg.model.neck.in_channels = 32;
  cfg.runner = { type: 'EpochBasedRunner', max_epochs: 4 };
  cfg.checkpoint_config = { interval: 1000, save_last: false };
  cfg.log_config = { interval: 1, hooks: [{ type: 'TextLoggerHook' }] };
  const path = join(dir, 'tiny.json');
  writeFileSync(path, JSON.stringify(cfg));
  return path;
}

/** Runs `ssl train` (2 local ranks); with `signalAt`, sends SIGTERM to the ssl process once rank 0 logged that line. */
function train(args: string[], signalAt?: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO, 'bin', 'run.js'), 'train', ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let sent = false;
    const onData = (d: Buffer) => {
      out += d.toString();
      if (signalAt && !sent && out.includes(signalAt)) {
        sent = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => resolve({ code, out }));
  });
}

/** The training losses of rank 0's JSON log(s) in a work dir, by global iteration. */
function losses(workDir: string, itersPerEpoch: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const f of readdirSync(workDir).filter((n) => n.endsWith('.log.json'))) {
    for (const line of readFileSync(join(workDir, f), 'utf8').split('\n').slice(1)) {
      if (!line.trim()) continue;
      const r = JSON.parse(line) as { mode?: string; epoch?: number; iter?: number; loss?: number };
      if (r.mode === 'train' && r.loss !== undefined && r.epoch !== undefined && r.iter !== undefined) out.set((r.epoch - 1) * itersPerEpoch + r.iter, r.loss);
    }
  }
  return out;
}

(built ? describe : describe.skip)('SIGTERM pre-emption of a 2-rank local job (needs npm run build)', () => {
  test('one checkpoint at the agreed iteration, exit 75; --auto-resume continues with the uninterrupted run\'s losses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssl-preempt-'));
    const cfg = config(dir);
    const common = (wd: string, port: number) => [cfg, '--launcher', 'local', '--gpus', '2', '--work-dir', wd, '--seed', '3', '--deterministic', '--backend', 'wasm', '--port', String(port)];

    const whole = join(dir, 'whole');
    const a = await train(common(whole, await freePort()));
    expect(a.code).toBe(0);

    const w = join(dir, 'preempted');
    const port = await freePort();
    const b = await train(common(w, port), 'Epoch [2][1/2]');
    expect({ code: b.code, tail: b.code === 75 ? '' : b.out.slice(-3000) }).toEqual({ code: 75, tail: '' });
    const stops = [...b.out.matchAll(/\[rank (\d)\] .* - ERROR - stopped by SIGTERM at iteration (\d+); exit code 75/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(stops.map(([r]) => r).sort()).toEqual([0, 1]);
    const iter = stops[0]![1]!;
    expect(stops[1]![1]).toBe(iter);
    const files = readdirSync(w);
    expect(files.filter((f) => f.endsWith('.ckpt') && f !== 'latest.ckpt')).toEqual([`iter_${iter}.ckpt`]);
    expect(files.filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(isValidCheckpoint(join(w, `iter_${iter}.ckpt`))).toBe(true);
    const meta = readCheckpointMeta(join(w, `iter_${iter}.ckpt`));
    expect(meta).toMatchObject({ iter, seed: 3, epoch: Math.floor((iter - 1) / 2) });

    const c = await train([...common(w, port), '--auto-resume']);
    expect({ code: c.code, tail: c.code === 0 ? '' : c.out.slice(-3000) }).toEqual({ code: 0, tail: '' });
    expect(c.out).toContain(`auto-resume: found ${join(w, `iter_${iter}.ckpt`)}`);
    expect(c.out).toContain(`resumed epoch ${meta.epoch}, iter ${iter}`);

    const ref = losses(whole, 2);
    const resumed = losses(w, 2);
    expect(ref.size).toBe(8);
    for (let i = iter + 1; i <= 8; i++) {
      expect({ i, loss: resumed.get(i) }).toEqual({ i, loss: expect.closeTo(ref.get(i)!, 5) });
    }
  }, 240_000);
});
