import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { resolveConfig } from '../../src/config/index.js';
import { decodeSafetensors } from '../../src/engine/safetensors.js';
import { createLauncher } from '../../launchers/local/index.js';
import type { JobSpec } from '../../launchers/launcher.js';
import { compileForChildren, freePort, isGone, REPO } from './helpers.js';

/** The real trainer in 2 processes through the local launcher; rank 1 is SIGKILLed during epoch 2. */
describe('training with a rank killed mid-step', () => {
  it('the other rank exits non-zero within 30 s naming it, nothing is left running, the last checkpoint is intact', async () => {
    const lib = compileForChildren(['src', 'launchers/local', 'launchers/launcher.ts']);
    const workDir = mkdtempSync(join(tmpdir(), 'ssl-dist-train-'));
    const cfg = resolveConfig(join(REPO, 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml')).cfg as Record<string, any>;
    cfg.data.samples_per_gpu = 4;
    cfg.data.train.data_source.num_samples = 16; // 2 iterations per epoch with 2 ranks
    cfg.runner = { type: 'EpochBasedRunner', max_epochs: 20 };
    cfg.work_dir = workDir;
    const configPath = join(workDir, 'cfg.json');
    writeFileSync(configPath, JSON.stringify(cfg));
    const port = await freePort();
    const job: JobSpec = { name: 'kill', runId: 'kill-test', workDir, configPath, workerArgs: ['--port', String(port), '--seed', '1'], nodes: 1, procsPerNode: 2, gpusPerNode: 0, port, env: { DIST_TEST_LIB: lib } };
    const launcher = createLauncher({ workerScript: join(REPO, 'test/dist/fixtures/worker-entry.mjs'), env: {} });
    const h = await launcher.submit(await launcher.dryRun(job, { gpus: 2 }));
    const pids = launcher.pids(h.id);
    let output = '';
    let killedAt = 0;
    const watch = new Writable({
      write: (c, _e, cb) => {
        output += String(c);
        if (!killedAt && /Saving checkpoint at 1 epochs/.test(output)) {
          killedAt = Date.now();
          // Let epoch 2 start, then kill rank 1 in the middle of a step.
          setTimeout(() => process.kill(pids[1], 'SIGKILL'), 300);
        }
        cb();
      },
    });
    await launcher.logs(h.id, watch, { follow: true });
    const st = await launcher.wait(h.id);
    expect(killedAt).toBeGreaterThan(0);
    expect(st.state).toBe('FAILED');
    expect(st.exitCode).toBe(137);
    expect(Date.now() - killedAt).toBeLessThan(30_000);
    expect(output).toMatch(/\[rank 0\].*rank 1 \(pid \d+ on [^)]*\) died/);
    for (const pid of pids) expect(isGone(pid)).toBe(true);
    const ckpt = join(workDir, 'epoch_1.ckpt');
    expect(existsSync(ckpt)).toBe(true);
    const { tensors, metadata } = decodeSafetensors(readFileSync(ckpt));
    expect(tensors.size).toBeGreaterThan(10);
    expect(JSON.parse(metadata.meta).epoch).toBe(1);
  });
});
