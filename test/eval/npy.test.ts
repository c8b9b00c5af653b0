import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDataset } from '../../src/data/index.js';
import { writeNpy } from '../../src/eval/npy.js';
import { tempDir } from '../runner/helpers.js';

test('.npy 1.0: magic, a 64-byte aligned header with dtype/order/shape, then the raw little-endian values', () => {
  const dir = tempDir('ssl-npy-');
  const p = join(dir, 'a.npy');
  writeNpy(p, Float32Array.from([1.5, -2, 3, 4, 5, 6]), [2, 3]);
  const b = readFileSync(p);
  expect(b.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
  expect([b[6], b[7]]).toEqual([1, 0]);
  const hlen = b.readUInt16LE(8);
  expect((10 + hlen) % 64).toBe(0);
  const header = b.subarray(10, 10 + hlen).toString('latin1');
  expect(header).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
  expect(Array.from(new Float32Array(b.buffer.slice(b.byteOffset + 10 + hlen, b.byteOffset + b.length)))).toEqual([1.5, -2, 3, 4, 5, 6]);
  writeNpy(join(dir, 'b.npy'), Int8Array.from([1, 0, -1]), [3]);
  expect(readFileSync(join(dir, 'b.npy')).toString('latin1')).toContain("'descr': '|i1', 'fortran_order': False, 'shape': (3,), }");
  expect(() => writeNpy(join(dir, 'c.npy'), Float32Array.from([1, 2]), [3])).toThrow(/does not hold 2 values/);
});

test('SubsetDataset: num_samples evenly spaced items of the wrapped dataset; bad num_samples is a config error', async () => {
  const inner = { type: 'SingleViewDataset', data_source: { type: 'SyntheticShapes', num_samples: 10, image_size: 8, seed: 1 }, pipeline: [{ type: 'ToTensor' }] };
  const full = await buildDataset(inner);
  const sub = await buildDataset({ type: 'SubsetDataset', num_samples: 4, dataset: inner });
  expect(sub.length).toBe(4);
  expect([0, 1, 2, 3].map((i) => sub.getLabel(i))).toEqual([0, 2, 5, 7].map((i) => full.getLabel(i)));
  await expect(buildDataset({ type: 'SubsetDataset', num_samples: 0, dataset: inner })).rejects.toThrow(/num_samples must be a positive integer/);
});

test('SubsetDataset of a DeepClusterDataset: DeepClusterHook\'s labels reach the picked items; other wrapped sets take none', async () => {
  const source = { type: 'SyntheticShapes', num_samples: 10, image_size: 8, seed: 1 };
  const sub = (await buildDataset({ type: 'SubsetDataset', num_samples: 4, dataset: { type: 'DeepClusterDataset', data_source: source, pipeline: [{ type: 'ToTensor' }] } })) as Awaited<ReturnType<typeof buildDataset>> & { assignLabels?: (l: number[]) => void };
  expect(sub.assignLabels).toBeDefined();
  sub.assignLabels!([3, 1, 4, 1]);
  const rng = () => 0.5;
  const labels = await Promise.all([0, 1, 2, 3].map(async (i) => (await sub.getItem(i, rng as never)).extras.pseudo_label));
  expect(labels).toEqual([3, 1, 4, 1]);
  expect(() => sub.assignLabels!([1, 2])).toThrow(/got 2 labels for 4 samples/);
  const plain = (await buildDataset({ type: 'SubsetDataset', num_samples: 4, dataset: { type: 'SingleViewDataset', data_source: source, pipeline: [{ type: 'ToTensor' }] } })) as { assignLabels?: unknown };
  expect(plain.assignLabels).toBeUndefined();
});
