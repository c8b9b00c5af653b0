import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/config/index.js';
import { isValidCheckpoint, readCheckpointMeta } from '../../src/runner/checkpoint.js';
import { compileForChildren, freePort, REPO, runNode, type Finished } from './helpers.js';

/**
 * The real worker as 2 ranks (torchrun env). A signal reaches ONE rank; the ranks agree on stopping
 * (one max-all-reduce per iteration) and stop at the same iteration; on SIGUSR1 rank 0 writes the
 * checkpoint and both wait for it, then exit 75. Every rank logs to its own file in the work dir;
 * only rank 0's INFO lines reach the console.
 */
const ENTRY = join(REPO, 'test/dist/fixtures/worker-entry.mjs');

function config(dir: string, edit: (cfg: Record<string, any>) => void): string {
  const cfg = resolveConfig(join(REPO, 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml')).cfg as Record<string, any>;
  cfg.data.samples_per_gpu = 4;
  cfg.data.train.data_source.num_samples = 16; // 2 iterations per epoch on each of 2 ranks
  cfg.data.train.data_source.image_size = 16;
  cfg.data.train.pipelines[0][0].size = 16;
  cfg.model.backbone.stem_channels = 4;
  cfg.model.backbone.base_channels = 4;
  cfg.model.neck.in_channels = 32;
  cfg.runner = { type: 'EpochBasedRunner', max_epochs: 200 };
  cfg.checkpoint_config = { interval: 1000 };
  edit(cfg);
  const path = join(dir, 'cfg.json');
  writeFileSync(path, JSON.stringify(cfg));
  return path;
}

/** Starts 2 ranks; once rank 0 has logged iteration 3, sends `signal` to rank `target`. */
async function runAndSignal(lib: string, target: number, signal: NodeJS.Signals, edit: (cfg: Record<string, any>) => void = () => {}): Promise<{ workDir: string; ranks: Finished[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'ssl-dist-stop-'));
  const cfg = config(dir, edit);
  const workDir = join(dir, 'w');
  const port = await freePort();
  const ranks = [0, 1].map((r) =>
    runNode(ENTRY, ['--config', cfg, '--work-dir', workDir, '--seed', '3', '--backend', 'wasm'], {
      DIST_TEST_LIB: lib, RANK: String(r), LOCAL_RANK: String(r), WORLD_SIZE: '2', LOCAL_WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port),
    }),
  );
  let out = '';
  let sent = false;
  ranks[0].child.stdout!.on('data', (d) => {
    out += String(d);
    if (!sent && out.includes('Epoch [2][1/2]')) {
      sent = true;
      ranks[target].child.kill(signal);
    }
  });
  const done = await Promise.all(ranks.map((r) => r.done));
  if (!sent) throw new Error(`never reached iteration 3:\n${done.map((f) => `${f.stdout.slice(-1500)}\n${f.stderr.slice(-1500)}`).join('\n')}`);
  return { workDir, ranks: done };
}

function stoppedAt(f: Finished, signal: string, code: number): number {
  const m = new RegExp(`stopped by ${signal} at iteration (\\d+); exit code ${code}`).exec(f.stdout);
  if (!m) throw new Error(`no stop line:\n${f.stdout.slice(-2000)}\n${f.stderr.slice(-2000)}`);
  return Number(m[1]);
}

describe('stopping a 2-rank training run with a signal to one rank', () => {
  let lib: string;
  beforeAll(() => {
    lib = compileForChildren(['src', 'launchers/local', 'launchers/launcher.ts']);
  });

  it('SIGUSR1 to rank 1: both stop at the same iteration, rank 0 writes an intact checkpoint, both exit 75; each rank has its own log', async () => {
    const { workDir, ranks } = await runAndSignal(lib, 1, 'SIGUSR1');
    expect(ranks.map((r) => r.code)).toEqual([75, 75]);
    const iter = stoppedAt(ranks[0], 'SIGUSR1', 75);
    expect(stoppedAt(ranks[1], 'SIGUSR1', 75)).toBe(iter);
    const files = readdirSync(workDir);
    expect(files.filter((f) => f.endsWith('.ckpt') && f !== 'latest.ckpt')).toEqual([`iter_${iter}.ckpt`]);
    expect(files.filter((f) => f.includes('.tmp'))).toEqual([]);
    const ckpt = join(workDir, `iter_${iter}.ckpt`);
    expect(isValidCheckpoint(ckpt)).toBe(true);
    expect(readCheckpointMeta(ckpt)).toMatchObject({ iter, epoch: Math.floor((iter - 1) / 2), inner_iter: iter - 2 * Math.floor((iter - 1) / 2) });

    // per-rank logs: one timestamp, rank 0's file under mmcv's name, rank 1's beside it
    const logs = files.filter((f) => f.endsWith('.log')).sort();
    expect(logs).toHaveLength(2);
    const ts = logs[0].replace(/\.log$/, '');
    expect(logs).toEqual([`${ts}.log`, `${ts}.rank1.log`]);
    const log0 = readFileSync(join(workDir, `${ts}.log`), 'utf8');
    const log1 = readFileSync(join(workDir, `${ts}.rank1.log`), 'utf8');
    expect(log0).toContain(`another rank received SIGUSR1: stopping at the end of iteration ${iter}`);
    expect(log0).toContain(`SIGUSR1: saved ${ckpt} at iteration ${iter}`);
    expect(log1).toContain('SIGUSR1 received: stopping at the end of this or the next iteration, with the other ranks');
    expect(log1).toMatch(/ - INFO - Distributed training: true/);
    // the console: rank 0 logs everything, rank 1 only errors
    expect(ranks[0].stdout).toContain(' - INFO - ');
    expect(ranks[1].stdout).not.toContain(' - INFO - ');
    expect(ranks[1].stdout).not.toContain(' - WARNING - ');
    expect(ranks[1].stdout).toContain(' - ERROR - stopped by SIGUSR1');
  }, 60_000);

  it('SIGTERM to rank 0 only, gradients accumulated over 2 iterations: both stop at the same iteration and exit 143, no checkpoint written', async () => {
    // the stop vote rides in the gradient all-reduce every other iteration, in one of its own otherwise
    const { workDir, ranks } = await runAndSignal(lib, 0, 'SIGTERM', (cfg) => {
      cfg.optimizer_config = { update_interval: 2 };
    });
    expect(ranks.map((r) => r.code)).toEqual([143, 143]);
    expect(stoppedAt(ranks[1], 'SIGTERM', 143)).toBe(stoppedAt(ranks[0], 'SIGTERM', 143));
    expect(readdirSync(workDir).filter((f) => f.endsWith('.ckpt') || f.includes('.tmp'))).toEqual([]);
  }, 60_000);
});
