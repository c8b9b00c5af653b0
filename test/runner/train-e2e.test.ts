import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeContainer } from '../../src/runner/checkpoint-container.js';
import { isValidCheckpoint, readCheckpointMeta } from '../../src/runner/checkpoint.js';
import { runWorker } from '../../src/runner/worker-main.js';
import { captured, quiet, tempDir, TINY_SIMCLR, writeConfig } from './helpers.js';

function tensorsOf(path: string, prefix: string): Map<string, Buffer> {
  const { tensors } = decodeContainer(new Uint8Array(readFileSync(path)));
  const out = new Map<string, Buffer>();
  for (const [k, t] of tensors) if (k.startsWith(prefix)) out.set(k, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return out;
}

/** 8×8 images, 4 per batch, one batch per epoch, a 4-channel ResNet-18. */
function micro(c: Record<string, any>): void {
  c.data.samples_per_gpu = 4;
  c.data.train.data_source.num_samples = 4;
  c.data.train.data_source.image_size = 8;
  c.data.train.pipelines[0][0].size = 8;
  c.model.backbone.base_channels = 4;
  c.model.backbone.stem_channels = 4;
  c.model.neck.in_channels = 32;
}

function logText(dir: string): string {
  return readdirSync(dir).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
}

// Micro variant (8×8 images, one batch of 4 per epoch): the cpu backend is pure JS and slow.
describe.each(['wasm', 'cpu'])('training on %s', (backend) => {
  test('4 epochs == 2 epochs, resume, 2 more (weights and optimizer state bitwise equal)', async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, TINY_SIMCLR, (c) => {
      c.runner.max_epochs = 4;
      micro(c);
    });
    const a = join(dir, 'a');
    expect(await quiet(() => runWorker(['--config', cfg, '--work-dir', a, '--seed', '3', '--deterministic', '--backend', backend]))).toBe(0);
    // a second run starts from the first run's epoch-2 checkpoint (as if stopped there) and auto-resumes
    const b = join(dir, 'b');
    mkdirSync(b);
    copyFileSync(join(a, 'epoch_2.ckpt'), join(b, 'epoch_2.ckpt'));
    expect(await quiet(() => runWorker(['--config', cfg, '--work-dir', b, '--auto-resume', '--deterministic', '--backend', backend]))).toBe(0);
    expect(readCheckpointMeta(join(b, 'epoch_4.ckpt'))).toMatchObject({ epoch: 4, iter: 4, seed: 3 });
    const wa = tensorsOf(join(a, 'epoch_4.ckpt'), '');
    const wb = tensorsOf(join(b, 'epoch_4.ckpt'), '');
    expect([...wb.keys()].sort()).toEqual([...wa.keys()].sort());
    expect(wa.size).toBeGreaterThan(100);
    for (const [k, buf] of wa) expect({ k, equal: buf.equals(wb.get(k)!) }).toEqual({ k, equal: true });
    expect(logText(b)).toContain('resumed epoch 2, iter 2');
    // the first run: a checkpoint every epoch, latest points at the last
    expect(readdirSync(a).filter((f) => f.endsWith('.ckpt')).sort()).toEqual(['epoch_1.ckpt', 'epoch_2.ckpt', 'epoch_3.ckpt', 'epoch_4.ckpt', 'latest.ckpt']);
    expect(readFileSync(join(a, 'latest.ckpt')).equals(readFileSync(join(a, 'epoch_4.ckpt')))).toBe(true);
  });
});

test('IterBasedRunner: iter checkpoints with max_keep_ckpts, grad accumulation + clipping, TensorBoard and JSON logs', async () => {
  const dir = tempDir();
  const cfg = writeConfig(dir, TINY_SIMCLR, (c) => {
    micro(c);
    c.data.train.data_source.num_samples = 8;
    c.runner = { type: 'IterBasedRunner', max_iters: 3 };
    c.checkpoint_config = { interval: 1, max_keep_ckpts: 2 };
    c.optimizer_config = { update_interval: 2, grad_clip: { max_norm: 1.0 } };
    c.log_config = { interval: 1, hooks: [{ type: 'TextLoggerHook' }, { type: 'TensorboardLoggerHook' }] };
  });
  const w = join(dir, 'w');
  expect(await quiet(() => runWorker(['--config', cfg, '--work-dir', w, '--seed', '0', '--backend', 'wasm']))).toBe(0);
  expect(readdirSync(w).filter((f) => f.endsWith('.ckpt')).sort()).toEqual(['iter_2.ckpt', 'iter_3.ckpt', 'latest.ckpt']);
  expect(readCheckpointMeta(join(w, 'iter_3.ckpt'))).toMatchObject({ iter: 3 });
  const events = readdirSync(join(w, 'tf_logs'));
  expect(events).toHaveLength(1);
  expect(readFileSync(join(w, 'tf_logs', events[0])).includes(Buffer.from('train/loss'))).toBe(true);
  const json = readdirSync(w).find((f) => f.endsWith('.log.json'))!;
  const lines = readFileSync(join(w, json), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(lines[0]).toMatchObject({ seed: 0, exp_name: 'cfg' });
  const train = lines.filter((l) => l.mode === 'train');
  expect(train.map((l) => l.iter)).toEqual([1, 2, 3]);
  // the optimizer steps (and clips) on iterations 2 and 3 (last, the incomplete group)
  expect(train.filter((l) => typeof l.grad_norm === 'number').map((l) => l.iter)).toEqual([2, 3]);
  expect(logText(w)).toMatch(/Iter \[3\/3\]\tlr: [0-9.]+e[-+]\d\d, eta: 0:00:00, time: [0-9.]+, data_time: [0-9.]+, loss: [0-9.]+, grad_norm: [0-9.]+/);
  expect(logText(w)).toContain('(ABOVE_NORMAL) DistOptimizerHook');
});

describe('bad input and failures', () => {
  test('NaN loss stops training naming the iteration, keeps the last good checkpoint', async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, TINY_SIMCLR, (c) => {
      c.runner.max_epochs = 3;
      c.lr_config = { policy: 'step', step: [1], gamma: 1e36 };
      micro(c);
      c.data.train.data_source.num_samples = 8;
    });
    const w = join(dir, 'w');
    const code = await quiet(() => runWorker(['--config', cfg, '--work-dir', w, '--seed', '0', '--backend', 'wasm']));
    expect(code).toBe(3);
    const log = logText(w);
    const m = /loss is (NaN|Infinity|-Infinity) at iteration \d+ \(epoch ([23]), iter \d\/2\)/.exec(log);
    expect(m).not.toBeNull();
    const epoch = Number(m![2]);
    const lastGood = join(w, `epoch_${epoch - 1}.ckpt`);
    expect(log).toContain(`the last good checkpoint is ${lastGood}`);
    expect(isValidCheckpoint(lastGood)).toBe(true);
    expect(existsSync(join(w, `epoch_${epoch}.ckpt`))).toBe(false);
  });

  test('an unknown config key names the key, the component type and the config file', async () => {
    const dir = tempDir();
    const cfg = writeConfig(dir, TINY_SIMCLR, (c) => {
      c.model.neck.hid_channel = 32;
    });
    const w = join(dir, 'w');
    const r = await captured(() => runWorker(['--config', cfg, '--work-dir', w, '--backend', 'cpu']));
    expect(r.result).toBe(2);
    expect(existsSync(w)).toBe(false); // a run that fails before it starts writes nothing
    expect(r.out).toMatch(/NonLinearNeck does not accept the argument "hid_channel"; did you mean hid_channels.*cfg\.json/);
  });

  test('resuming a checkpoint of another architecture names the first mismatching parameter and both shapes', async () => {
    const dir = tempDir();
    const small = writeConfig(dir, TINY_SIMCLR, micro, 'small.json');
    const big = writeConfig(dir, TINY_SIMCLR, (c) => {
      micro(c);
      c.model.neck.hid_channels = 48;
    }, 'big.json');
    const w = join(dir, 'w');
    expect(await quiet(() => runWorker(['--config', small, '--work-dir', w, '--backend', 'wasm']))).toBe(0);
    const w2 = join(dir, 'w2');
    const r = await captured(() => runWorker(['--config', big, '--work-dir', w2, '--backend', 'wasm', '--resume-from', join(w, 'epoch_1.ckpt')]));
    expect(r.result).toBe(2);
    // PyTorch layout (out x in), as the checkpoint stores it
    expect(r.out).toMatch(/--resume-from: \S+epoch_1\.ckpt is a checkpoint of another model: neck\.fc0\.weight is \[32, 32\] there and \[48, 32\] in this model/);
    expect(existsSync(w2)).toBe(false);
  });
});
