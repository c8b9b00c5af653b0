import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../../src/engine/tf.js';
import { decodeSafetensors, encodeSafetensors, loadWeights, rawFromTensor, saveWeights, tensorFromRaw } from '../../src/engine/safetensors.js';
import { Conv2d } from '../../src/engine/layers/conv2d.js';
import { Linear } from '../../src/engine/layers/linear.js';
import { BatchNorm } from '../../src/engine/layers/batch-norm.js';
import { Sequential } from '../../src/engine/layers/container.js';
import { manualSeed } from '../../src/engine/random.js';

describe('safetensors', () => {
  beforeAll(() => tf.setBackend('cpu'));

  test('round-trips tensors and metadata with an 8-byte aligned JSON header', () => {
    const a = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const b = tf.tensor1d([7, -8], 'int32');
    const buf = encodeSafetensors(new Map([['a', rawFromTensor(a)], ['b', rawFromTensor(b)]]), { meta: '{"epoch":3}' });
    const headerLen = Number(buf.readBigUInt64LE(0));
    expect(headerLen % 8).toBe(0);
    const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString());
    expect(header.a).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    expect(header.b).toEqual({ dtype: 'I64', shape: [2], data_offsets: [24, 40] });
    const { tensors, metadata } = decodeSafetensors(buf);
    expect(metadata).toEqual({ meta: '{"epoch":3}' });
    expect(tensorFromRaw(tensors.get('a')!).arraySync()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(tensorFromRaw(tensors.get('b')!).arraySync()).toEqual([7, -8]);
  });

  test('rejects truncated files', () => {
    const buf = encodeSafetensors(new Map([['a', rawFromTensor(tf.ones([4]))]]));
    expect(() => decodeSafetensors(buf.subarray(0, buf.length - 4))).toThrow(/beyond the end/);
    expect(() => decodeSafetensors(Buffer.from([1, 2]))).toThrow(/not a safetensors file/);
  });

  test('module weights are stored under PyTorch names in PyTorch layout and load back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssl-st-'));
    try {
      manualSeed(1);
      const m = new Sequential(new Conv2d(3, 4, 3, { bias: false }), new BatchNorm(4), new Linear(4, 2));
      const path = join(dir, 'w.safetensors');
      await saveWeights(m, path, { metadata: { note: 'x' } });
      const { tensors, metadata } = decodeSafetensors(readFileSync(path));
      expect(metadata).toEqual({ format: 'pt', note: 'x' });
      expect(tensors.get('0.weight')!.shape).toEqual([4, 3, 3, 3]); // OIHW
      expect(tensors.get('2.weight')!.shape).toEqual([2, 4]); // out x in
      expect(tensors.get('1.num_batches_tracked')!.dtype).toBe('I64');
      // element [o=1, i=2, h=0, w=1] in the file is HWIO [0, 1, 2, 1] in the model
      const hwio = (m.stateDict().get('0.weight')!.arraySync() as number[][][][])[0][1][2][1];
      const oihw = (tensorFromRaw(tensors.get('0.weight')!).arraySync() as number[][][][])[1][2][0][1];
      expect(oihw).toBe(hwio);
      manualSeed(2);
      const fresh = new Sequential(new Conv2d(3, 4, 3, { bias: false }), new BatchNorm(4), new Linear(4, 2));
      await loadWeights(fresh, path);
      for (const [name, t] of m.stateDict()) expect(fresh.stateDict().get(name)!.arraySync()).toEqual(t.arraySync());
      const wrong = new Sequential(new Conv2d(3, 5, 3, { bias: false }), new BatchNorm(5), new Linear(5, 2));
      await expect(loadWeights(wrong, path)).rejects.toThrow(/size mismatch for 0.weight: checkpoint has shape \[4, 3, 3, 3\], the model has \[5, 3, 3, 3\]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
