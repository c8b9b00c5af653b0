/** The .pth writer: what it writes reads back (torch.load's side is tools/torch-pth-fixtures.py --check). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPth, type PthTensor } from '../../../src/engine/pth/read-pth.js';
import { PyDict } from '../../../src/engine/pth/unpickler.js';
import { encodePth, PyFloat, PyTuple } from '../../../src/engine/pth/write-pth.js';
import type { RawTensor } from '../../../src/engine/safetensors.js';
import { tempDir } from '../../runner/helpers.js';

const f32 = (shape: number[], values: number[]): RawTensor => ({ dtype: 'F32', shape, bytes: new Uint8Array(Float32Array.from(values).buffer) });

test('tensors, shared storages, int64, nested containers and meta round-trip', async () => {
  const w = f32([2, 3], [1, 2, 3, 4, 5, 6]);
  const count: RawTensor = { dtype: 'I64', shape: [], bytes: new Uint8Array(BigInt64Array.from([1234n]).buffer) };
  const sd = new Map<string, RawTensor>([['conv.weight', w], ['alias.weight', w], ['bn.num_batches_tracked', count]]);
  const path = join(tempDir('ssl-pth-'), 'x.pth');
  writeFileSync(path, await encodePth({ meta: { epoch: 3, iter: 2n ** 40n, name: 'ré', lr: new PyFloat(0), ok: true, none: null }, state_dict: sd, t: new PyTuple([1, 'a']) }));
  const v = (await readPth(path)) as PyDict;
  const meta = v.get('meta') as PyDict;
  expect(Object.fromEntries(meta)).toEqual({ epoch: 3, iter: 2 ** 40, name: 'ré', lr: 0, ok: true, none: null });
  expect(v.get('t')).toEqual([1, 'a']);
  const got = v.get('state_dict') as PyDict;
  expect([...got.keys()]).toEqual(['conv.weight', 'alias.weight', 'bn.num_batches_tracked']);
  const a = got.get('conv.weight') as PthTensor;
  expect(a.shape).toEqual([2, 3]);
  expect(Array.from(new Float32Array(Uint8Array.from(a.bytes).buffer))).toEqual([1, 2, 3, 4, 5, 6]);
  expect((got.get('alias.weight') as PthTensor).storageKey).toBe(a.storageKey);
  const c = got.get('bn.num_batches_tracked') as PthTensor;
  expect([c.dtype, c.shape, new BigInt64Array(Uint8Array.from(c.bytes).buffer)[0]]).toEqual(['I64', [], 1234n]);
});

test('the same weights give the same bytes (a published file\'s hash is stable)', async () => {
  const sd = new Map([['w', f32([2], [1, 2])]]);
  expect(Buffer.compare(await encodePth({ state_dict: sd }), await encodePth({ state_dict: sd }))).toBe(0);
});
