import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { DATASOURCES, buildDataset, buildDataLoader, fileClient, registerFileBackend } from '../../src/data/index.js';
import { unpickle } from '../../src/data/sources/pickle.js';
import type { DataSource } from '../../src/data/types.js';

const fixtures = fileURLToPath(new URL('../fixtures/data/', import.meta.url));

async function source(cfg: Record<string, unknown>): Promise<DataSource> {
  const s = DATASOURCES.build(cfg);
  await s.init?.();
  return s;
}

/** A w x h PNG/JPEG whose pixel (0,0) is `rgb`. */
async function imageFile(path: string, rgb: [number, number, number], format: 'png' | 'jpeg' = 'png', w = 20, h = 12): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true });
  const raw = Buffer.alloc(w * h * 3);
  for (let i = 0; i < w * h; i++) raw.set(rgb, i * 3);
  const img = sharp(raw, { raw: { width: w, height: h, channels: 3 } });
  writeFileSync(path, await (format === 'png' ? img.png() : img.jpeg({ quality: 95 })).toBuffer());
}

let root: string;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ssl-data-'));
  await imageFile(join(root, 'train/n01/a.png'), [255, 0, 0]);
  await imageFile(join(root, 'train/n01/b.jpg'), [0, 255, 0], 'jpeg');
  await imageFile(join(root, 'train/n02/c.png'), [0, 0, 255]);
  await imageFile(join(root, 'train/n02/deep/d.png'), [9, 9, 9]);
  writeFileSync(join(root, 'train/n02/notes.txt'), 'not an image');
  writeFileSync(join(root, 'train.txt'), 'n02/c.png 1\nn01/a.png 0\n\n');
  writeFileSync(join(root, 'list.txt'), 'n01/a.png\nn02/c.png\n');
  writeFileSync(join(root, 'bad.txt'), 'n01/a.png 0\nn02/c.png one\n');
  writeFileSync(join(root, 'missing.txt'), 'n01/a.png 0\nn01/gone.png 0\nn02/c.png 1\n');
  writeFileSync(join(root, 'corrupt.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
  writeFileSync(join(root, 'corrupt.txt'), 'corrupt.jpg\nn01/a.png\n');
  writeFileSync(join(root, 'multi.txt'), 'n01/a.png 3 7\nn02/c.png 5\n');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('ImageNet', () => {
  it('reads class sub-folders (sorted, images only, not nested) with labels', async () => {
    const s = await source({ type: 'ImageNet', data_prefix: join(root, 'train') });
    expect(s.length).toBe(3);
    expect(s.CLASSES).toEqual(['n01', 'n02']);
    expect(Array.from(s.getGtLabels())).toEqual([0, 0, 1]);
    const img = await s.getImage(2);
    expect([img.height, img.width, img.channels]).toEqual([12, 20, 3]);
    expect(Array.from(img.data.subarray(0, 3))).toEqual([0, 0, 255]);
  });

  it('reads an ann_file of "path label" lines', async () => {
    const s = await source({ type: 'ImageNet', data_prefix: join(root, 'train'), ann_file: join(root, 'train.txt') });
    expect(s.length).toBe(2);
    expect(Array.from(s.getGtLabels())).toEqual([1, 0]);
    expect(Array.from((await s.getImage(1)).data.subarray(0, 3))).toEqual([255, 0, 0]);
  });

  it('names the file and line of an annotation that does not parse', async () => {
    await expect(source({ type: 'ImageNet', data_prefix: join(root, 'train'), ann_file: join(root, 'bad.txt') })).rejects.toThrow(/bad\.txt:2: cannot parse "n02\/c\.png one"/);
  });

  it('names a missing image with its ann_file line, or skips it once with skip_corrupt', async () => {
    const cfg = { type: 'SingleViewDataset', data_source: { type: 'ImageNet', data_prefix: join(root, 'train'), ann_file: join(root, 'missing.txt') }, pipeline: [{ type: 'CenterCrop', size: 8 }, { type: 'ToTensor' }] };
    const ds = await buildDataset(cfg);
    const strict = buildDataLoader(ds, { samplesPerGpu: 3, shuffle: false });
    await expect((async () => {
      for await (const _ of strict.epoch(0));
    })()).rejects.toThrow(/gone\.png \(.*missing\.txt:2\)/);
    const logs: string[] = [];
    const skipping = await buildDataset({ ...cfg, data_source: { ...cfg.data_source, skip_corrupt: true } });
    const loader = buildDataLoader(skipping, { samplesPerGpu: 3, shuffle: false, log: (m) => logs.push(m) });
    for (let e = 0; e < 2; e++) for await (const b of loader.epoch(e)) expect(Array.from(b.labels!)).toEqual([0, 1, 1]);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/skip_corrupt: skipping .*gone\.png/);
  });
});

describe('empty data', () => {
  it('fails before training on an empty class folder tree or an empty list', async () => {
    mkdirSync(join(root, 'empty/n01'), { recursive: true });
    await expect(source({ type: 'ImageNet', data_prefix: join(root, 'empty') })).rejects.toThrow(/found 0 images .* in the sub-folders of .*empty/);
    writeFileSync(join(root, 'empty.txt'), '\n');
    await expect(buildDataset({ type: 'SingleViewDataset', data_source: { type: 'ImageList', data_prefix: root, ann_file: join(root, 'empty.txt') }, pipeline: [] })).rejects.toThrow(
      /SingleViewDataset dataset is empty \(data_source ImageList/,
    );
  });
});

describe('ImageList', () => {
  it('reads a list without labels as label -1', async () => {
    const s = await source({ type: 'ImageList', data_prefix: join(root, 'train'), ann_file: join(root, 'list.txt') });
    expect(Array.from(s.getGtLabels())).toEqual([-1, -1]);
  });

  it('names the file and line of a list line with the wrong number of fields', async () => {
    writeFileSync(join(root, 'ragged.txt'), 'n01/a.png 0\nn02/c.png 1 extra\n');
    await expect(source({ type: 'ImageList', data_prefix: join(root, 'train'), ann_file: join(root, 'ragged.txt') })).rejects.toThrow(/ragged\.txt:2: cannot parse "n02\/c\.png 1 extra"/);
  });

  it('fails on a truncated JPEG naming the file and line, or skips it once with skip_corrupt', async () => {
    const whole = readFileSync(join(root, 'train/n01/b.jpg'));
    writeFileSync(join(root, 'truncated.jpg'), whole.subarray(0, Math.floor(whole.length / 2)));
    writeFileSync(join(root, 'truncated.txt'), 'train/n01/a.png 0\ntruncated.jpg 1\n');
    const cfg = { type: 'ImageList', data_prefix: root, ann_file: join(root, 'truncated.txt') };
    await expect((await source(cfg)).getImage(1)).rejects.toThrow(/cannot decode image .*truncated\.jpg \(.*truncated\.txt:2\)/);
    const logs: string[] = [];
    const ds = await buildDataset({ type: 'SingleViewDataset', data_source: { ...cfg, skip_corrupt: true }, pipeline: [{ type: 'CenterCrop', size: 8 }, { type: 'ToTensor' }] });
    const loader = buildDataLoader(ds, { samplesPerGpu: 2, shuffle: false, log: (m) => logs.push(m) });
    for (let e = 0; e < 2; e++) for await (const b of loader.epoch(e)) expect(Array.from(b.labels!)).toEqual([0, 0]);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/skip_corrupt: skipping .*truncated\.jpg \(.*truncated\.txt:2\)/);
  });

  it('fails on a corrupt JPEG naming the file', async () => {
    const s = await source({ type: 'ImageList', data_prefix: root, ann_file: join(root, 'corrupt.txt') });
    await expect(s.getImage(0)).rejects.toThrow(/cannot decode image .*corrupt\.jpg \(.*corrupt\.txt:1\)/);
  });
});

describe('ImageNet21k', () => {
  it('walks nested folders with recursion_subdir', async () => {
    const flat = await source({ type: 'ImageNet21k', data_prefix: join(root, 'train') });
    const deep = await source({ type: 'ImageNet21k', data_prefix: join(root, 'train'), recursion_subdir: true });
    expect(flat.length).toBe(3);
    expect(deep.length).toBe(4);
    expect(Array.from((await deep.getImage(3)).data.subarray(0, 3))).toEqual([9, 9, 9]);
  });

  it('reads several labels per line with multi_label', async () => {
    const s = await source({ type: 'ImageNet21k', data_prefix: join(root, 'train'), ann_file: join(root, 'multi.txt'), multi_label: true });
    expect(s.getLabels!(0)).toEqual([3, 7]);
    expect(s.getLabel(1)).toBe(5);
  });
});

describe('CIFAR', () => {
  const expected = new Uint8Array(readFileSync(join(fixtures, 'cifar/expected_first_hwc.bin')));
  it.each(['cifar-10-batches-py', 'cifar-10-batches-bin'])('reads the %s layout as HWC with labels', async (folder) => {
    const s = await source({ type: 'CIFAR10', data_prefix: join(fixtures, 'cifar', folder) });
    expect(s.length).toBe(10);
    expect(Array.from(s.getGtLabels())).toEqual([3, 4, 6, 7, 9, 0, 2, 3, 5, 6]);
    const img = await s.getImage(0);
    expect([img.height, img.width, img.channels]).toEqual([32, 32, 3]);
    expect(img.data).toEqual(expected);
    const test = await source({ type: 'CIFAR10', data_prefix: join(fixtures, 'cifar', folder), test_mode: true });
    expect(Array.from(test.getGtLabels())).toEqual([1, 2, 3]);
  });

  it('finds the layout under data_prefix and reads class names from batches.meta', async () => {
    const s = await source({ type: 'CIFAR10', data_prefix: join(fixtures, 'cifar') });
    expect(s.CLASSES?.[0]).toBe('airplane');
  });

  it('reads CIFAR100 fine labels from a protocol-4 pickle', async () => {
    const s = await source({ type: 'CIFAR100', data_prefix: join(fixtures, 'cifar/cifar100') });
    expect(Array.from(s.getGtLabels())).toEqual([5, 77, 99]);
    expect(s.CLASSES).toHaveLength(100);
  });

  it('refuses pickles that call arbitrary globals', () => {
    const evil = Buffer.from('\x80\x02cos\nsystem\nX\x07\x00\x00\x00echo hi\x85R.', 'latin1');
    expect(() => unpickle(new Uint8Array(evil), 'evil.pkl')).toThrow(/refusing to call os\.system/);
  });
});

describe('MNIST / FashionMNIST (idx)', () => {
  it('reads gzip idx files', async () => {
    const { gzipSync } = await import('node:zlib');
    const dir = join(root, 'mnist');
    mkdirSync(dir, { recursive: true });
    const images = Buffer.alloc(16 + 2 * 4 * 3);
    images.set([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 3]);
    for (let i = 0; i < 24; i++) images[16 + i] = i * 10;
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(images));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), Buffer.from([0, 0, 8, 1, 0, 0, 0, 2, 7, 3]));
    const s = await source({ type: 'MNIST', data_prefix: dir, color_type: 'grayscale' });
    expect(s.length).toBe(2);
    expect(Array.from(s.getGtLabels())).toEqual([7, 3]);
    const img = await s.getImage(1);
    expect([img.height, img.width, img.channels]).toEqual([4, 3, 1]);
    expect(img.data[0]).toBe(120);
    const rgb = await (await source({ type: 'MNIST', data_prefix: dir })).getImage(1);
    expect(Array.from(rgb.data.subarray(0, 3))).toEqual([120, 120, 120]);
  });

  it("reads Debian's dataset-fashion-mnist by default", async () => {
    const s = await source({ type: 'FashionMNIST', test_mode: true });
    expect(s.length).toBe(10000);
    expect(s.CLASSES?.[9]).toBe('Ankle boot');
    const img = await s.getImage(0);
    expect([img.height, img.width, img.channels]).toEqual([28, 28, 3]);
    expect(Math.max(...img.data)).toBeGreaterThan(100);
  });
});

describe('SyntheticShapes', () => {
  it('is deterministic from its seed and labelled', async () => {
    const a = await source({ type: 'SyntheticShapes', num_samples: 6, image_size: 16, num_classes: 3, seed: 1 });
    const b = await source({ type: 'SyntheticShapes', num_samples: 6, image_size: 16, num_classes: 3, seed: 1 });
    const c = await source({ type: 'SyntheticShapes', num_samples: 6, image_size: 16, num_classes: 3, seed: 2 });
    expect((await a.getImage(4)).data).toEqual((await b.getImage(4)).data);
    expect((await a.getImage(4)).data).not.toEqual((await c.getImage(4)).data);
    expect((await a.getImage(4)).data).not.toEqual((await a.getImage(5)).data);
    expect(Array.from(a.getGtLabels())).toEqual([0, 1, 2, 0, 1, 2]);
    const grey = await (await source({ type: 'SyntheticShapes', num_samples: 2, image_size: 8, channels: 1 })).getImage(0);
    expect(grey.channels).toBe(1);
    expect(grey.data.length).toBe(64);
  });

  it('rejects unknown arguments with a suggestion', () => {
    expect(() => DATASOURCES.build({ type: 'SyntheticShapes', num_sample: 3 })).toThrow(/did you mean num_samples/);
  });
});

describe('file backends', () => {
  it('routes scheme:// paths to a registered backend (the S3 seam)', async () => {
    const files = new Map<string, Uint8Array>();
    const png = readFileSync(join(root, 'train/n01/a.png'));
    files.set('mem://bucket/imgs/x.png', new Uint8Array(png));
    files.set('mem://bucket/list.txt', new Uint8Array(Buffer.from('imgs/x.png 4\n')));
    registerFileBackend('mem', () => ({
      get: async (p) => {
        const f = files.get(p);
        if (!f) throw new Error(`no such key ${p}`);
        return f;
      },
      getText: async (p) => Buffer.from(files.get(p)!).toString('utf8'),
      list: async () => [],
      join: (...parts) => parts.join('/').replace(/([^:])\/+/g, '$1/'),
    }));
    const s = await source({ type: 'ImageNet', data_prefix: 'mem://bucket', ann_file: 'mem://bucket/list.txt' });
    expect(s.getLabel(0)).toBe(4);
    expect(Array.from((await s.getImage(0)).data.subarray(0, 3))).toEqual([255, 0, 0]);
  });

  it('loads the s3 backend on first use of an s3:// path', async () => {
    const fc = await fileClient(undefined, 's3://bucket/train');
    expect(typeof fc.get).toBe('function');
    expect(fc.join('s3://bucket/train/', 'a.jpg')).toBe('s3://bucket/train/a.jpg');
  });

  it('says which backend is missing', async () => {
    await expect(source({ type: 'ImageNet', data_prefix: 'gs://bucket', ann_file: 'gs://bucket/x.txt' })).rejects.toThrow(/no file backend "gs"/);
  });
});
