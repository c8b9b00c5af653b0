/** Issue 24, item 1: every weights file ssl writes loads, by MMSelfSup's mapping rules; no silent no-op loads. */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { initBackend } from '../../src/engine/backend.js';
import { manualSeed } from '../../src/engine/random.js';
import { buildModel } from '../../src/models/index.js';
import { encodeContainer } from '../../src/runner/checkpoint-container.js';
import { writeCheckpoint } from '../../src/runner/checkpoint.js';
import { loadWeights } from '../../src/runner/load-weights.js';
import { applyPretrainedInit } from '../../src/runner/pretrained-init.js';
import { runWorker } from '../../src/runner/worker-main.js';
import { extractBackbone, publishModel } from '../../src/storage/model-files.js';
import { captured, quiet, tempDir, TINY_SIMCLR, writeConfig } from './helpers.js';

type Model = ReturnType<typeof buildModel>;

/** A warn callback that keeps its lines. */
function recorder(): ((m: string) => void) & { lines: string[] } {
  const lines: string[] = [];
  return Object.assign((m: string) => void lines.push(m), { lines });
}
const cfg = loadConfig(TINY_SIMCLR) as Record<string, any>;
const mocoCfg = loadConfig('configs/selfsup/mocov2/mocov2_resnet18-cifar_1xb8-2it_synthetic.yaml') as Record<string, any>;

function model(seed: number, c: Record<string, any> = cfg): Model {
  manualSeed(seed);
  return buildModel(c.model);
}

function values(m: Model, prefix: string): Map<string, number[]> {
  return new Map([...m.stateDict()].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k, Array.from(t.dataSync())]));
}

function same(a: Map<string, number[]>, b: Map<string, number[]>): boolean {
  return a.size > 0 && a.size === b.size && [...a].every(([k, v]) => JSON.stringify(v) === JSON.stringify(b.get(k)));
}

let dir: string;
let source: Model;
let full: string;
let published: string;
let backbone: string;

beforeAll(async () => {
  await initBackend('cpu');
  dir = tempDir('ssl-weights-');
  source = model(1);
  full = await writeCheckpoint(dir, 'epoch_1.ckpt', { model: source, meta: { epoch: 1, iter: 2 }, latest: false });
  published = (await publishModel(full, join(dir, 'published.ckpt'))).path;
  backbone = (await extractBackbone(full, join(dir, 'backbone.ckpt'))).path;
});

describe('loadWeights into an algorithm (load_from, --load-from)', () => {
  test('a checkpoint and a published model load whole, without a warning', async () => {
    for (const file of [full, published]) {
      const m = model(2);
      expect(same(values(m, ''), values(source, ''))).toBe(false);
      const warn = recorder();
      const r = await loadWeights(m, file, { what: 'load_from', warn });
      expect(same(values(m, ''), values(source, ''))).toBe(true);
      expect(r).toMatchObject({ missingKeys: [], unexpectedKeys: [], addedPrefix: '' });
      expect(warn.lines).toEqual([]);
    }
  });

  test('an extracted backbone goes into backbone., the rest is named in one warning line', async () => {
    const m = model(2);
    const neckBefore = values(m, 'neck.');
    const warn = recorder();
    const r = await loadWeights(m, backbone, { what: '--load-from', warn });
    expect(r.addedPrefix).toBe('backbone.');
    expect(same(values(m, 'backbone.'), values(source, 'backbone.'))).toBe(true);
    expect(same(values(m, 'neck.'), neckBefore)).toBe(true);
    expect(warn.lines).toHaveLength(1);
    expect(warn.lines[0]).toMatch(/^--load-from: loaded \d+ tensors of .*backbone\.ckpt \(a backbone: into backbone\.\); missing keys in source state_dict: neck\./);
    expect(warn.lines[0]).not.toContain('\n');
  });

  test('MoCo: backbone. names resolve to encoder_q.0 (the module MMSelfSup also saves as backbone)', async () => {
    const src = model(1, mocoCfg);
    const ck = await writeCheckpoint(dir, 'moco.ckpt', { model: src, meta: { epoch: 1, iter: 1 }, latest: false });
    const bb = (await extractBackbone(ck, join(dir, 'moco-backbone.ckpt'))).path;
    const m = model(2, mocoCfg);
    const r = await loadWeights(m, bb, { what: 'load_from', warn: () => {} });
    expect(r.loaded).toBeGreaterThan(50);
    expect(same(values(m, 'encoder_q.0.'), values(src, 'encoder_q.0.'))).toBe(true);
  });

  test('a file that matches no tensor is an error, not a silent no-op', async () => {
    const other = join(dir, 'other.ckpt');
    writeFileSync(other, encodeContainer(new Map([['state_dict.decoder.weight', { dtype: 'F32', shape: [2], data: new Float32Array(2) }]]), { meta: '{"layout":"pytorch"}' }));
    await expect(loadWeights(model(2), other, { what: 'load_from', warn: () => {} })).rejects.toThrow(/^load_from: .*other\.ckpt has no tensor this model takes \(it has decoder\.weight; the model has backbone\./);
  });
});

describe('init_cfg: Pretrained', () => {
  test('model.backbone.init_cfg takes an extracted backbone, or a whole checkpoint with or without prefix backbone.', async () => {
    for (const init of [{ checkpoint: backbone }, { checkpoint: full, prefix: 'backbone.' }, { checkpoint: full }]) {
      const m = model(2);
      const modelCfg = { ...cfg.model, backbone: { ...cfg.model.backbone, init_cfg: { type: 'Pretrained', ...init } } };
      const warn = recorder();
      expect(await applyPretrainedInit(m, modelCfg, { info: () => {}, warn })).toBe(1);
      expect(same(values(m, 'backbone.'), values(source, 'backbone.'))).toBe(true);
      expect(warn.lines).toEqual([]);
    }
  });

  test('MoCo: the momentum encoder starts as a copy of the initialised query encoder (MMSelfSup init_weights)', async () => {
    const src = model(1, mocoCfg);
    const ck = await writeCheckpoint(dir, 'moco2.ckpt', { model: src, meta: { epoch: 1, iter: 1 }, latest: false });
    const m = model(2, mocoCfg);
    const modelCfg = { ...mocoCfg.model, backbone: { ...mocoCfg.model.backbone, init_cfg: { type: 'Pretrained', checkpoint: ck, prefix: 'backbone.' } } };
    await applyPretrainedInit(m, modelCfg, { info: () => {}, warn: () => {} });
    const q = [...values(m, 'encoder_q.0.')].filter(([k]) => !k.includes('running') && !k.includes('num_batches')).map(([, v]) => v);
    const k = [...values(m, 'encoder_k.0.')].filter(([k]) => !k.includes('running') && !k.includes('num_batches')).map(([, v]) => v);
    expect(JSON.stringify(k)).toBe(JSON.stringify(q));
    expect(same(values(m, 'encoder_q.0.'), values(src, 'encoder_q.0.'))).toBe(true);
  });

  test('a prefix no key starts with, and Pretrained on a neck, are errors', async () => {
    const bad = { ...cfg.model, backbone: { ...cfg.model.backbone, init_cfg: { type: 'Pretrained', checkpoint: full, prefix: 'encoder.' } } };
    await expect(applyPretrainedInit(model(2), bad, { info: () => {}, warn: () => {} })).rejects.toThrow(/model\.backbone\.init_cfg: no tensor of .* starts with prefix "encoder\."/);
    const neck = { ...cfg.model, neck: { ...cfg.model.neck, init_cfg: { type: 'Pretrained', checkpoint: full } } };
    await expect(applyPretrainedInit(model(2), neck, { info: () => {}, warn: () => {} })).rejects.toThrow(/model\.neck\.init_cfg: Pretrained is supported on the model and its backbone only/);
  });
});

function logText(d: string): string {
  return readdirSync(d).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(d, f), 'utf8')).join('\n');
}

describe('ssl-worker --load-from', () => {
  test('an extracted backbone: loaded (one warning line for the neck and head); a file matching nothing: exit 2, one line', async () => {
    const d = tempDir();
    const c = writeConfig(d, TINY_SIMCLR, (x) => {
      x.data.train.data_source.num_samples = 8;
    });
    const w = join(d, 'w');
    expect(await quiet(() => runWorker(['--config', c, '--work-dir', w, '--backend', 'wasm', '--load-from', backbone]))).toBe(0);
    const log = logText(w);
    expect(log).toMatch(/WARNING - --load-from: loaded 120 tensors of .*backbone\.ckpt \(a backbone: into backbone\.\); missing keys in source state_dict: neck\.fc0\.weight/);
    const other = join(dir, 'other.ckpt');
    const w2 = join(d, 'w2');
    const r = await captured(() => runWorker(['--config', c, '--work-dir', w2, '--backend', 'wasm', '--load-from', other]));
    expect(r.result).toBe(2);
    expect(r.out).toMatch(/ERROR - --load-from: .*other\.ckpt has no tensor this model takes/);
  });
});
