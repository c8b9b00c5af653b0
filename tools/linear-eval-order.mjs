#!/usr/bin/env node
// What tools/linear-eval-reference.py needs to replay `ssl eval linear`'s head training step for step in PyTorch:
// the ClsHead's initial weights as the worker builds them (manualSeed(seed), then the model) and the feature
// loader's batch order (DistributedSampler(n, seed) per epoch, one rank). Needs `npm run build` (reads lib/).
//   node tools/linear-eval-order.mjs CONFIG N_TRAIN EPOCHS [SEED] > order.json
import { loadConfig } from '../lib/src/config/index.js';
import { tf } from '../lib/src/engine/tf.js';
import { manualSeed } from '../lib/src/engine/random.js';
import { buildModel } from '../lib/src/models/index.js';
import { DistributedSampler } from '../lib/src/data/sampler.js';

const [config, nTrain, epochs, seedArg] = process.argv.slice(2);
const seed = Number(seedArg ?? 0);
await tf.setBackend('cpu');
const cfg = loadConfig(config);
manualSeed(seed);
const model = buildModel(cfg.model);
const head = Object.fromEntries(model.head.namedParameters().map(([name, v]) => [name, { shape: v.shape, data: Array.from(v.dataSync()) }]));
const sampler = new DistributedSampler(Number(nTrain), { seed, shuffle: true });
const orders = Array.from({ length: Number(epochs) }, (_, e) => sampler.indices(e));
process.stdout.write(JSON.stringify({ config, seed, head, orders }));
