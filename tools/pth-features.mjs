#!/usr/bin/env node
// ssl's side of tools/torch-pth-fixtures.py --check (needs `npx tsc` first: it runs lib/).
//   node tools/pth-features.mjs features BACKBONE_JSON WEIGHTS INPUT.safetensors OUT.safetensors
//     loads WEIGHTS (.pth or a file ssl wrote) by --load-from's rules into {backbone: BACKBONE} and writes its eval-mode outputs
//   node tools/pth-features.mjs export BACKBONE_JSON SEED INPUT.safetensors CKPT OUT.safetensors
//     writes an ssl checkpoint (the trainer's writer) of {backbone: BACKBONE} initialised with SEED, and its outputs
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const lib = join(dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'src');
const { initBackend } = await import(join(lib, 'engine/backend.js'));
const { Module } = await import(join(lib, 'engine/module.js'));
const { tf } = await import(join(lib, 'engine/tf.js'));
const { manualSeed } = await import(join(lib, 'engine/random.js'));
const { decodeSafetensors, encodeSafetensors, rawFromTensor, tensorFromRaw } = await import(join(lib, 'engine/safetensors.js'));
const { BACKBONES } = await import(join(lib, 'models/backbones/index.js'));
const { loadWeights } = await import(join(lib, 'runner/load-weights.js'));
const { writeCheckpoint } = await import(join(lib, 'runner/checkpoint.js'));

await initBackend(process.env.SSL_BACKEND ?? 'cpu', { log: () => {} });
const [cmd, backboneJson, ...rest] = process.argv.slice(2);

class WithBackbone extends Module {
  constructor(cfg) {
    super();
    this.backbone = this.registerModule('backbone', BACKBONES.build(cfg));
  }
}

function outputs(model, inputPath, outPath) {
  const input = tensorFromRaw(decodeSafetensors(readFileSync(inputPath)).tensors.get('input'));
  model.eval();
  const outs = model.backbone.forward(input);
  const tensors = new Map();
  outs.forEach((o, i) => {
    if (Array.isArray(o)) {
      tensors.set(`output.${i}`, rawFromTensor(o[0]));
      tensors.set(`output.${i}.cls`, rawFromTensor(o[1]));
    } else tensors.set(`output.${i}`, rawFromTensor(o));
  });
  writeFileSync(outPath, encodeSafetensors(tensors));
}

const cfg = JSON.parse(backboneJson);
if (cmd === 'features') {
  const [weights, input, out] = rest;
  const model = new WithBackbone(cfg);
  const r = await loadWeights(model, weights, { what: 'pth-features', warn: (m) => console.error(`Warning: ${m}`) });
  console.error(`loaded ${r.loaded} tensors of ${weights}`);
  outputs(model, input, out);
} else if (cmd === 'export') {
  const [seed, input, ckpt, out] = rest;
  manualSeed(Number(seed));
  const model = new WithBackbone(cfg);
  // non-trivial BN statistics and counters, as a trained network has
  for (const [name, v] of model.namedBuffers()) {
    if (name.endsWith('running_mean')) v.assign(tf.randomNormal(v.shape, 0, 0.1, 'float32', 1));
    if (name.endsWith('running_var')) v.assign(tf.randomUniform(v.shape, 0.5, 1.5, 'float32', 2));
    if (name.endsWith('num_batches_tracked')) v.assign(tf.scalar(1234, 'int32'));
  }
  await writeCheckpoint(dirname(ckpt), basename(ckpt), { model, meta: { epoch: 1, iter: 10 }, latest: false });
  outputs(model, input, out);
} else {
  console.error('usage: pth-features.mjs features|export ...');
  process.exit(2);
}
