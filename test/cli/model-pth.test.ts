/** Issue 22 through the CLI: ssl model import / extract-backbone / publish with .pth, and hostile files. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readPth, type PthTensor } from '../../src/engine/pth/read-pth.js';
import { PyDict } from '../../src/engine/pth/unpickler.js';
import { readCheckpointMeta } from '../../src/runner/checkpoint.js';
import { weightsFileNames } from '../../src/runner/load-weights.js';
import { REPO_ROOT, runCli } from '../helpers/run-cli.js';
import { tempDir } from '../runner/helpers.js';

const DIR = join(REPO_ROOT, 'test/fixtures/torch/pth');

describe('ssl model import', () => {
  test('an MMSelfSup MoCo checkpoint: one ssl weights file, backbone./neck. kept as second names, optimizer dropped, meta kept', () => {
    const out = join(tempDir('ssl-import-'), 'moco.ckpt');
    const r = runCli(['model', 'import', join(DIR, 'mocov2-mmselfsup.pth'), '-o', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/moco\.ckpt \(250 tensor\(s\), epoch 1, iter 2; 124 tensors saved twice kept once\)/);
    expect(readCheckpointMeta(out)).toMatchObject({ epoch: 1, iter: 2, layout: 'pytorch', state_dict_aliases: { backbone: 'encoder_q.0', neck: 'encoder_q.1' } });
    const names = weightsFileNames(out).names;
    expect(names).toContain('encoder_q.0.conv1.weight');
    expect(names).toHaveLength(250);
  });

  test('--config checks the file against the model: a ViT into a ResNet config is refused and nothing is written; torchvision ResNet fits', () => {
    const dir = tempDir('ssl-import-');
    const cfg = join(REPO_ROOT, 'configs/selfsup/mocov2/mocov2_resnet18-cifar_1xb8-2it_synthetic.yaml');
    const out = join(dir, 'vit.ckpt');
    const bad = runCli(['model', 'import', join(DIR, 'vit-tiny-timm.pth'), '-o', out, '--config', cfg]);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/has no tensor this model takes/);
    expect(readdirSync(dir)).toEqual([]);
    const ok = runCli(['model', 'import', join(DIR, 'tv-resnet18-w4.pth'), '-o', join(dir, 'r18.ckpt'), '--config', cfg,
      '--cfg-options', 'model.backbone.type=ResNet', 'model.backbone.stem_channels=4', 'model.backbone.base_channels=4', 'model.neck.in_channels=32']);
    expect(ok.status).toBe(0);
    expect(ok.stderr).toMatch(/fits .*: 120 tensors \(a backbone: into backbone\.\)/);
  });

  // every hostile fixture is refused by the reader in test/engine/pth/read-pth.test.ts; here three through the CLI
  test.each(['os-system.pth', 'path-traversal.pth', 'claims-10gb.pth'])(
    'hostile %s: one line, exit 2, nothing written',
    (file) => {
      const dir = tempDir('ssl-import-');
      const r = runCli(['model', 'import', join(DIR, 'hostile', file), '-o', join(dir, 'out.ckpt')]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
      expect(readdirSync(dir)).toEqual([]);
      expect(existsSync('/tmp/ssl-pth-pwned')).toBe(false);
    },
  );
});

describe('ssl model extract-backbone / publish to .pth', () => {
  test("extract-backbone CKPT OUT.pth: {'state_dict': backbone.* stripped}, int64 counters; publish --format pth: {meta, state_dict}", async () => {
    const dir = tempDir('ssl-export-');
    const ckpt = join(dir, 'moco.ckpt');
    expect(runCli(['model', 'import', join(DIR, 'mocov2-mmselfsup.pth'), '-o', ckpt]).status).toBe(0);
    const r = runCli(['model', 'extract-backbone', ckpt, join(dir, 'backbone.pth')]);
    expect(r.status).toBe(0);
    const root = (await readPth(join(dir, 'backbone.pth'))) as PyDict;
    expect([...root.keys()]).toEqual(['state_dict', 'author']);
    const sd = root.get('state_dict') as PyDict;
    expect(sd.size).toBe(120);
    expect([...sd.keys()][0]).toBe('conv1.weight');
    expect((sd.get('conv1.weight') as PthTensor).shape).toEqual([4, 3, 3, 3]); // OIHW
    expect((sd.get('bn1.num_batches_tracked') as PthTensor).dtype).toBe('I64');

    const p = runCli(['model', 'publish', join(DIR, 'mocov2-mmselfsup.pth'), join(dir, 'moco_r18.pth')]);
    expect(p.status).toBe(0);
    const published = readdirSync(dir).find((f) => /^moco_r18-[0-9a-f]{8}\.pth$/.test(f))!;
    expect(p.stdout).toContain(published);
    const pub = (await readPth(join(dir, published))) as PyDict;
    expect([...pub.keys()]).toEqual(['meta', 'state_dict']);
    expect(Object.fromEntries(pub.get('meta') as PyDict)).toMatchObject({ epoch: 1, iter: 2, seed: 0 });
    expect(p.stdout).toMatch(/64 optimizer tensor\(s\) dropped/);
    const psd = pub.get('state_dict') as PyDict;
    expect(psd.has('queue')).toBe(true);
    // MMSelfSup's second names, one storage as torch.save would write them
    expect((psd.get('backbone.conv1.weight') as PthTensor).storageKey).toBe((psd.get('encoder_q.0.conv1.weight') as PthTensor).storageKey);
    // and back to safetensors by --format
    const s = runCli(['model', 'publish', join(dir, published), join(dir, 'again.ckpt'), '--format', 'safetensors']);
    expect(s.status).toBe(0);
  });
});
