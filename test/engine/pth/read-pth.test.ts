/**
 * Reading files torch.save wrote (fixtures by tools/torch-pth-fixtures.py), and refusing hostile ones
 * with one line and nothing run or allocated beyond the file's size.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readPth, type PthTensor } from '../../../src/engine/pth/read-pth.js';
import { PyDict } from '../../../src/engine/pth/unpickler.js';
import { asSslDtype } from '../../../src/engine/pth/dtypes.js';

const DIR = join(process.cwd(), 'test/fixtures/torch/pth');
const expected = JSON.parse(readFileSync(join(DIR, 'dtypes.json'), 'utf8')) as Record<string, { shape: number[]; values: number[] }>;

function values(t: PthTensor): number[] {
  const f = asSslDtype(t);
  const dv = new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
  const n = f.shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, (_, i) => (f.dtype === 'F32' ? dv.getFloat32(4 * i, true) : f.dtype === 'I64' ? Number(dv.getBigInt64(8 * i, true)) : dv.getInt32(4 * i, true)));
}

describe('readPth: files torch.save wrote', () => {
  test.each(['dtypes.pth', 'dtypes-bigendian.pth'])('%s: float32, strided, float16, bfloat16, int64, uint8, bool, 0-d and offset views', async (file) => {
    const sd = (await readPth(join(DIR, file))) as PyDict;
    expect([...sd.keys()]).toEqual(Object.keys(expected));
    for (const [name, want] of Object.entries(expected)) {
      const t = sd.get(name) as PthTensor;
      expect([name, t.shape]).toEqual([name, want.shape]);
      const got = values(t);
      want.values.forEach((v, i) => expect(Math.abs(got[i] - v)).toBeLessThanOrEqual(Math.abs(v) * 1e-7));
    }
    expect((sd.get('i64') as PthTensor).dtype).toBe('I64');
    expect((sd.get('bf16') as PthTensor).dtype).toBe('BF16');
  });
});

describe('readPth: hostile files are refused with one line (exit code 2 errors)', () => {
  const cases: [string, RegExp][] = [
    ['os-system.pth', /refusing to load global posix\.system/],
    ['path-traversal.pth', /invalid relative path: \.\.\/\.\.\/evil\.sh/],
    ['truncated.pth', /not a readable PyTorch zip file .*truncated/],
    ['short-storage.pth', /storage archive\/data\/0 holds 16 bytes, but its torch\.FloatStorage of 10 elements needs 40/],
    ['tensor-past-storage.pth', /tensor w of shape \[10\] .* reaches element 9 of storage data\/0, which holds 4/],
    ['claims-10gb.pth', /holds 16 bytes, but its torch\.FloatStorage of 2500000000 elements needs 10000000000/],
    ['zip-claims-4gb.pth', /data\/0 holds 4000000000 bytes, but its torch\.FloatStorage of 4 elements needs 16/],
    ['legacy.pth', /legacy \(before 1\.6\) format/],
  ];
  test.each(cases)('%s', async (file, message) => {
    rmSync('/tmp/ssl-pth-pwned', { force: true });
    const heapBefore = process.memoryUsage().arrayBuffers;
    const err = await readPth(join(DIR, 'hostile', file)).then(() => undefined, (e: Error & { exitCode?: number }) => e);
    expect(err?.message).toMatch(message);
    expect(err?.message).not.toContain('\n');
    expect(err?.exitCode).toBe(2);
    expect(existsSync('/tmp/ssl-pth-pwned')).toBe(false);
    // the claimed gigabytes were never allocated
    expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(64 * 1024 * 1024);
  });

  test('a file that is no zip at all, and one that does not exist', async () => {
    await expect(readPth(join(DIR, 'dtypes.json'))).rejects.toThrow(/is not a PyTorch \.pth file/);
    await expect(readPth(join(DIR, 'nope.pth'))).rejects.toThrow(/cannot open .*nope\.pth: ENOENT/);
  });
});
