/** Issue 18: parameter counts of the seed's MIM model-zoo configs equal the PyTorch reference's (tools/torch-mim-reference.py counts). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/index.js';
import { initBackend } from '../../../src/engine/backend.js';
import { countModelParameters } from '../../../src/models/backbones/count.js';
import { buildModel } from '../../../src/models/index.js';

const SEED = join(process.cwd(), '..', 'shared', 'data', 'mmselfsup-configs');
const REF = JSON.parse(readFileSync(join(process.cwd(), 'test', 'fixtures', 'torch', 'mim-param-counts.json'), 'utf8')) as Record<string, Record<string, { total: number; trainable: number }>>;

beforeAll(async () => {
  await initBackend('cpu', { log: () => {} });
});

test.each(Object.keys(REF))('%s: every part as in PyTorch', (config) => {
  const cfg = loadConfig(join(SEED, config)) as Record<string, any>;
  const c = countModelParameters(cfg.model, { buildModel: (m) => buildModel(m) });
  for (const [part, ref] of Object.entries(REF[config])) expect({ part, ...c.parts.find((p) => p.part === part) }).toEqual({ part, ...ref });
}, 120_000);
