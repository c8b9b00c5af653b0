/** Issue 18: ssl viz mae — original, masked, reconstruction, reconstruction + visible, side by side in one PNG. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { tempDir } from '../runner/helpers.js';
import { runCli } from '../helpers/run-cli.js';

const model = {
  type: 'MAE',
  backbone: { type: 'MAEViT', arch: { embed_dims: 32, num_layers: 2, num_heads: 4, feedforward_channels: 64 }, img_size: 16, patch_size: 4, mask_ratio: 0.75 },
  neck: { type: 'MAEPretrainDecoder', patch_size: 4, in_chans: 3, embed_dim: 32, decoder_embed_dim: 16, decoder_depth: 1, decoder_num_heads: 2, mlp_ratio: 4 },
  head: { type: 'MAEPretrainHead', norm_pix: true, patch_size: 4 },
};

test('four 16² panels: visible patches of panels 2 and 4 are the original, 12 of 16 patches masked', async () => {
  const dir = tempDir('ssl-viz-mae-');
  writeFileSync(join(dir, 'mae.json'), JSON.stringify({ model }));
  const img = Buffer.alloc(16 * 16 * 3);
  for (let i = 0; i < 256; i++) [img[3 * i], img[3 * i + 1], img[3 * i + 2]] = [(i % 16) * 15, Math.floor(i / 16) * 15, 100];
  await sharp(img, { raw: { width: 16, height: 16, channels: 3 } }).png().toFile(join(dir, 'in.png'));
  const r = runCli(['viz', 'mae', join(dir, 'mae.json'), '--image', join(dir, 'in.png'), '-o', join(dir, 'out.png'), '--backend', 'wasm'], { timeoutMs: 120_000 });
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).toContain('(4 panels of 16², 12 patches masked)');
  const { data, info } = await sharp(join(dir, 'out.png')).raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height, info.channels]).toEqual([64, 16, 3]);
  const at = (panel: number, y: number, x: number) => [0, 1, 2].map((c) => data[(y * 64 + panel * 16 + x) * 3 + c]);
  let visible = 0;
  for (let py = 0; py < 4; py++) {
    for (let px = 0; px < 4; px++) {
      const [y, x] = [py * 4 + 1, px * 4 + 2];
      const orig = at(0, y, x);
      orig.forEach((v, c) => expect(Math.abs(v - img[(y * 16 + x) * 3 + c])).toBeLessThanOrEqual(1)); // de-normalised original
      const isVisible = at(1, y, x).every((v, c) => Math.abs(v - orig[c]) <= 1);
      if (isVisible) {
        visible++;
        at(3, y, x).forEach((v, c) => expect(Math.abs(v - orig[c])).toBeLessThanOrEqual(1)); // pasted back
      }
    }
  }
  expect(visible).toBe(4);
}, 120_000);

test('a model that is not MAE, and a missing image: one line, exit 2', () => {
  const dir = tempDir('ssl-viz-mae-');
  writeFileSync(join(dir, 'mae.json'), JSON.stringify({ model }));
  const r = runCli(['viz', 'mae', join(dir, 'mae.json'), '--image', join(dir, 'nope.png'), '-o', join(dir, 'o.png'), '--backend', 'wasm']);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/Error: --image .*nope\.png could not be read as an image/);
  writeFileSync(join(dir, 'cls.json'), JSON.stringify({ model: { type: 'Classification', backbone: { type: 'ResNet_CIFAR', depth: 18, base_channels: 4, stem_channels: 4 }, head: { type: 'ClsHead', in_channels: 32, num_classes: 2, with_avg_pool: true } } }));
  const c = runCli(['viz', 'mae', join(dir, 'cls.json'), '--image', join(dir, 'nope.png'), '-o', join(dir, 'o.png'), '--backend', 'wasm']);
  expect(c.status).toBe(2);
  expect(c.stderr).toMatch(/Error: ssl viz mae needs an MAE model; the config's model.type is Classification/);
}, 60_000);
