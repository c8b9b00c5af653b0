/**
 * MMSelfSup's DeepCluster and ODC configs build unchanged with the parameter counts of PyTorch
 * (`sum(p.numel() for p in m.parameters())` of tools/torch-algos-reference.py's Sobel and
 * torch-reference.py's ResNet(50, in_channels=2|3), nn.Linear): the frozen Sobel filters count, as in
 * MMSelfSup's count_parameters.py.
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
const RESNET50_2CH = 23_504_896;
const SOBEL = 24;
const EXPECTED: [string, Record<string, number>][] = [
  ['deepcluster/deepcluster-sobel_resnet50_8xb64-steplr-200e_in1k.py', { sobel_layer: SOBEL, backbone: RESNET50_2CH, neck: 0, head: 2048 * 10000 + 10000 }],
  // MMSelfSup's own config: with_sobel defaults to True over in_channels=3 (builds; fails at the first forward)
  ['deepcluster/deepcluster_resnet50_8xb64-steplr-200e_in1k.py', { sobel_layer: SOBEL, backbone: RESNET50, neck: 0, head: 2048 * 10000 + 10000 }],
  // ODCNeck fc0 2048x512 + fc1 512x256 (bn0 without affine), ClsHead 256x10000; the memory has only buffers
  ['odc/odc_resnet50_8xb64-steplr-440e_in1k.py', { backbone: RESNET50, neck: 2048 * 512 + 512 + 512 * 256 + 256, head: 256 * 10000 + 10000, memory_bank: 0 }],
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
