/**
 * Issue 22: `--resume-from X.pth` with an MMSelfSup-format MoCo v2 checkpoint written by PyTorch
 * (tools/torch-pth-fixtures.py: encoder_q.0/1, encoder_k, backbone/neck aliases, queue, queue_ptr,
 * torch.optim.SGD state after 2 steps, meta epoch 1 / iter 2).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/engine/backend.js';
import { readTorchCheckpoint } from '../../src/engine/pth/checkpoint-file.js';
import { fromTorch } from '../../src/engine/torch-layout.js';
import { tensorFromRaw } from '../../src/engine/safetensors.js';
import { buildModel } from '../../src/models/index.js';
import { readCheckpointMeta } from '../../src/runner/checkpoint.js';
import { buildOptimizer } from '../../src/runner/optim/build.js';
import { readTorchResume } from '../../src/runner/torch-resume.js';
import type { TrainableModel } from '../../src/runner/types.js';
import { runWorker } from '../../src/runner/worker-main.js';
import { captured, quiet, tempDir, writeConfig } from './helpers.js';

const MOCO = 'configs/selfsup/mocov2/mocov2_resnet18-cifar_1xb8-2it_synthetic.yaml';
const PTH = join(process.cwd(), 'test/fixtures/torch/pth/mocov2-mmselfsup.pth');

/** The fixture's model: the tiny MoCo config at width 4. */
function width4(cfg: Record<string, any>): void {
  Object.assign(cfg.model.backbone, { stem_channels: 4, base_channels: 4 });
  cfg.model.neck.in_channels = 32;
}

function logText(d: string): string {
  return readdirSync(d).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(d, f), 'utf8')).join('\n');
}

beforeAll(async () => {
  await initBackend('cpu');
});

test('model and SGD momentum buffers come from the file, in ssl layout, under the model\'s names', async () => {
  const dir = tempDir('ssl-pth-resume-');
  const cfg = JSON.parse(readFileSync(writeConfig(dir, MOCO, width4), 'utf8'));
  const model = buildModel(cfg.model) as unknown as TrainableModel;
  const { optimizer } = buildOptimizer(model.namedParameters(), cfg.optimizer);
  const ck = await readTorchResume(PTH, model as never, optimizer);
  const file = await readTorchCheckpoint(PTH);
  try {
    expect([ck.meta.epoch, ck.meta.iter]).toEqual([1, 2]);
    // MMSelfSup saves encoder_q twice (backbone.*: 120, neck.*: 4): kept once
    expect(file.conventions).toContain('124 tensors saved twice kept once');
    const conv = fromTorch(tensorFromRaw(file.state.get('encoder_q.0.layer2.0.conv1.weight')!), 'conv');
    expect(Array.from(ck.stateDict.get('encoder_q.0.layer2.0.conv1.weight')!.dataSync())).toEqual(Array.from(conv.dataSync()));
    expect(Array.from(ck.stateDict.get('queue_ptr')!.dataSync())).toEqual([16]);
    // torch.optim.SGD's state is by parameter index; index 0 is encoder_q.0.conv1.weight, momentum_buffer in HWIO here
    const mom = ck.optimizer!.tensors.get('encoder_q.1.mlp.0.weight.momentum_buffer')!;
    expect(mom.shape).toEqual([32, 32]);
    expect(ck.optimizer!.tensors.size).toBe(64); // encoder_q's 64 parameters (encoder_k is frozen: no state)
    optimizer.loadStateDict(ck.optimizer!);
    expect(optimizer.paramGroups[0].lr).toBe(0.05);
  } finally {
    ck.dispose();
  }
});

test('ssl-worker --resume-from mocov2.pth continues at epoch 2 and ends at iter 4', async () => {
  const dir = tempDir('ssl-pth-resume-');
  const c = writeConfig(dir, MOCO, (x) => {
    width4(x);
    x.runner.max_epochs = 2;
  });
  const w = join(dir, 'w');
  expect(await quiet(() => runWorker(['--config', c, '--work-dir', w, '--backend', 'wasm', '--resume-from', PTH]))).toBe(0);
  expect(logText(w)).toMatch(/resumed epoch 1, iter 2/);
  expect(readCheckpointMeta(join(w, 'epoch_2.ckpt'))).toMatchObject({ epoch: 2, iter: 4 });
  expect(readdirSync(w)).not.toContain('epoch_1.ckpt');
});

test('a file that does not fit is refused: the wrong width names the tensor and shapes; a bare state dict has no meta; another model\'s keys are listed', async () => {
  const dir = tempDir('ssl-pth-resume-');
  const wrong = writeConfig(dir, MOCO, (x) => (x.runner.max_epochs = 2));
  const a = await captured(() => runWorker(['--config', wrong, '--work-dir', join(dir, 'a'), '--backend', 'wasm', '--resume-from', PTH]));
  expect(a.result).toBe(2);
  expect(a.out).toMatch(/ERROR - --resume-from: .*mocov2-mmselfsup\.pth: size mismatch for encoder_q\.0\.conv1\.weight: .* has shape \[4, 3, 3, 3\], the model has \[8, 3, 3, 3\]/);
  const tv = join(process.cwd(), 'test/fixtures/torch/pth/tv-resnet18-w4.pth');
  const ok = writeConfig(dir, MOCO, width4, 'ok.json');
  const b = await captured(() => runWorker(['--config', ok, '--work-dir', join(dir, 'b'), '--backend', 'wasm', '--resume-from', tv]));
  expect(b.result).toBe(2);
  // a bare state dict has no training state to resume
  expect(b.out).toMatch(/ERROR - --resume-from: .*tv-resnet18-w4\.pth has no training state \("meta"\): it is a state dict of weights; use --load-from for it/);
  // an MMSelfSup checkpoint of another model: strict, missing and unexpected keys listed
  const moco = join(process.cwd(), 'test/fixtures/torch/pth/vit-tiny-mmselfsup.pth');
  const c = await captured(() => runWorker(['--config', ok, '--work-dir', join(dir, 'c'), '--backend', 'wasm', '--resume-from', moco]));
  expect(c.result).toBe(2);
  expect(c.out).toMatch(/ERROR - --resume-from: .*vit-tiny-mmselfsup\.pth does not fit the model \(missing keys: queue, queue_ptr, .* \(\d+ in all\); unexpected keys: backbone\.cls_token/);
});
