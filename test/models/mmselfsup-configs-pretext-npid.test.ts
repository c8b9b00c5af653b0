/**
 * MMSelfSup's own configs for RotationPred, RelativeLoc and NPID build unchanged, with the parameter
 * counts of PyTorch (tools/torch-algos-reference.py models at ResNet-50 size: printed by
 * `sum(p.numel() for p in m.parameters())` of torch-reference.py's ResNet(50), nn.Linear, nn.BatchNorm1d).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { initBackend } from '../../src/engine/backend.js';
import { countModelParameters } from '../../src/models/backbones/count.js';
import { buildModel } from '../../src/models/index.js';
import { SHARED_DIR } from '../helpers/run-cli.js';

const DIR = join(SHARED_DIR, 'data', 'mmselfsup-configs', 'selfsup');
const RESNET50 = 23_508_032;
const EXPECTED: [string, Record<string, number>][] = [
  ['rotation_pred/rotation-pred_resnet50_8xb16-steplr-70e_in1k.py', { backbone: RESNET50, head: 2048 * 4 + 4 }],
  ['rotation_pred/rotation-pred_resnet50_8xb16-fp16-steplr-70e_in1k.py', { backbone: RESNET50, head: 2048 * 4 + 4 }],
  ['relative_loc/relative-loc_resnet50_8xb64-steplr-70e_in1k.py', { backbone: RESNET50, neck: 4096 * 4096 + 4096 + 2 * 4096, head: 4096 * 8 + 8 }],
  ['npid/npid_resnet50_8xb32-steplr-200e_in1k.py', { backbone: RESNET50, neck: 2048 * 128 + 128, head: 0 }],
  ['npid/npid-ensure-neg_resnet50_8xb32-steplr-200e_in1k.py', { backbone: RESNET50, neck: 2048 * 128 + 128, head: 0 }],
];

beforeAll(async () => {
  await initBackend('cpu', { log: () => {} });
});

describe.each(EXPECTED)('%s', (file, parts) => {
  const path = join(DIR, file);
  (existsSync(path) ? test : test.skip)('builds with PyTorch parameter counts per part', () => {
    const cfg = loadConfig(path);
    const c = countModelParameters(cfg.model as Record<string, unknown>, { buildModel: (m) => buildModel(m, path) });
    expect(c.skipped).toEqual([]);
    expect(Object.fromEntries(c.parts.map((p) => [p.part, p.total]))).toEqual(parts);
    expect(c.total).toBe(Object.values(parts).reduce((a, b) => a + b, 0));
  }, 60_000);
});
