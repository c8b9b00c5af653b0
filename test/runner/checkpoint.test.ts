import { closeSync, openSync, readFileSync, writeFileSync, writeSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../../src/engine/tf.js';
import { Linear } from '../../src/engine/layers/linear.js';
import { Module } from '../../src/engine/module.js';
import {
  CorruptCheckpointError, findLatestCheckpoint, isValidCheckpoint, readCheckpoint, removeStaleTemps, writeCheckpoint,
} from '../../src/runner/checkpoint.js';
import { buildOptimizer } from '../../src/runner/optim/build.js';
import type { TrainableModel } from '../../src/models/contracts.js';
import { tempDir } from './helpers.js';

class Net extends Module {
  readonly fc = this.registerModule('fc', new Linear(3, 2));
  forward(x: tf.Tensor): tf.Tensor {
    return this.fc.forward(x);
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const model = () => new Net() as unknown as TrainableModel & Net;

describe('checkpoints', () => {
  test('round trip: PyTorch layout on disk, TF.js layout in memory, optimizer state and meta', async () => {
    const dir = tempDir();
    const net = model();
    const { optimizer } = buildOptimizer(net.namedParameters(), { type: 'SGD', lr: 0.1, momentum: 0.9 });
    const grads = new Map(net.namedParameters().map(([n, v]) => [n, tf.onesLike(v)]));
    optimizer.step(grads);
    const path = await writeCheckpoint(dir, 'epoch_1.ckpt', { model: net, optimizer, meta: { epoch: 1, iter: 5, seed: 7 } });
    const ck = await readCheckpoint(path, net.stateDictLayouts());
    expect(ck.meta).toMatchObject({ epoch: 1, iter: 5, seed: 7, layout: 'pytorch' });
    expect(ck.stateDict.get('fc.weight')!.shape).toEqual([3, 2]);
    expect(Array.from(ck.stateDict.get('fc.weight')!.dataSync())).toEqual(Array.from(net.fc.weight.dataSync()));
    expect(ck.optimizer!.tensors.has('fc.weight.momentum_buffer')).toBe(true);
    // on disk the linear weight is out×in as in PyTorch
    const header = JSON.parse(readFileSync(path).subarray(8, 8 + Number(readFileSync(path).readBigUInt64LE(0))).toString());
    expect(header['state_dict.fc.weight'].shape).toEqual([2, 3]);
    ck.dispose();
    for (const g of grads.values()) g.dispose();
  });

  test('auto-resume picks the newest complete checkpoint; truncated and temp files are never picked', async () => {
    const dir = tempDir();
    const net = model();
    await writeCheckpoint(dir, 'epoch_1.ckpt', { model: net, meta: { epoch: 1, iter: 2 } });
    await writeCheckpoint(dir, 'epoch_2.ckpt', { model: net, meta: { epoch: 2, iter: 4 } });
    expect(findLatestCheckpoint(dir)).toBe(join(dir, 'epoch_2.ckpt'));
    // a crash mid-copy: epoch_3 truncated by 10 bytes, and a writer's temp file
    await writeCheckpoint(dir, 'epoch_3.ckpt', { model: net, meta: { epoch: 3, iter: 6 } });
    const full = readFileSync(join(dir, 'epoch_3.ckpt'));
    writeFileSync(join(dir, 'epoch_3.ckpt'), full.subarray(0, full.length - 10));
    writeFileSync(join(dir, '.epoch_4.ckpt.tmp-999999'), full);
    expect(isValidCheckpoint(join(dir, 'epoch_3.ckpt'))).toBe(false);
    expect(findLatestCheckpoint(dir)).toBe(join(dir, 'epoch_2.ckpt'));
    await expect(readCheckpoint(join(dir, 'epoch_3.ckpt'))).rejects.toThrow(CorruptCheckpointError);
    expect(removeStaleTemps(dir)).toEqual(['.epoch_4.ckpt.tmp-999999']);
  });

  test('a write never leaves a partial file under the final name', async () => {
    const dir = tempDir();
    const net = model();
    const path = await writeCheckpoint(dir, 'iter_3.ckpt', { model: net, meta: { epoch: 1, iter: 3 } });
    // simulate a writer killed mid-write of the next checkpoint: only its temp file exists
    const fd = openSync(join(dir, '.iter_6.ckpt.tmp-999998'), 'w');
    writeSync(fd, readFileSync(path).subarray(0, 100));
    closeSync(fd);
    expect(findLatestCheckpoint(dir)).toBe(path);
    expect(readFileSync(join(dir, 'latest.ckpt')).equals(readFileSync(path))).toBe(true);
  });

  test('equal iters: the newer file wins; a missing dir gives undefined', async () => {
    const dir = tempDir();
    const net = model();
    await writeCheckpoint(dir, 'epoch_1.ckpt', { model: net, meta: { epoch: 1, iter: 2 } });
    await writeCheckpoint(dir, 'iter_2.ckpt', { model: net, meta: { epoch: 1, iter: 2 } });
    utimesSync(join(dir, 'epoch_1.ckpt'), new Date(0), new Date(0));
    expect(findLatestCheckpoint(dir)).toBe(join(dir, 'iter_2.ckpt'));
    expect(findLatestCheckpoint(join(dir, 'nope'))).toBeUndefined();
  });
});

