/**
 * SwAVHead against MMSelfSup's in PyTorch in one invocation: runs tools/torch-swav-head-reference.py
 * (Debian's python3-torch) into a temporary file, then ssl's SwAVHead on the same inputs, and prints
 * the table of benchmarks/README.md (loss ssl | PyTorch | rel. diff | max rel. gradient diff x; prototypes).
 *   npx tsc -p tsconfig.json && node lib/benchmarks/swav-head-fidelity.js
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Scalar } from '@tensorflow/tfjs-core';
import { initBackend } from '../src/engine/backend.js';
import { tf } from '../src/engine/tf.js';
import { SwAVHead } from '../src/models/heads/swav-head.js';

interface Case {
  head: Record<string, unknown> & { feat_dim: number; num_prototypes: number; crops_for_assign: number[] };
  queue_rows: number;
  x: number[];
  prototypes_weight: number[];
  queue_before: number[] | null;
  loss: number;
  grad_x: number[];
  grad_prototypes_weight: number[];
}

const maxRel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  return diff / scale;
};

const dir = mkdtempSync(join(tmpdir(), 'ssl-swav-ref-'));
try {
  const file = join(dir, 'swav-head.json');
  execFileSync('/usr/bin/python3', [join('tools', 'torch-swav-head-reference.py'), '--out', file], { stdio: 'inherit' });
  const cases = (JSON.parse(readFileSync(file, 'utf8')) as { cases: Record<string, Case> }).cases;
  await initBackend('wasm', { log: () => {} });
  console.log('| case | loss ssl | loss PyTorch | rel. diff | max rel. grad diff (x; prototypes) |');
  console.log('|---|---|---|---|---|');
  for (const [name, c] of Object.entries(cases)) {
    const { type: _t, ...args } = c.head;
    const head = new SwAVHead(args);
    const [d, k] = [c.head.feat_dim, c.head.num_prototypes];
    head.prototypes.weight.assign(tf.transpose(tf.tensor2d(c.prototypes_weight, [k, d])));
    if (c.queue_before) {
      const per = c.queue_rows * d;
      head.queue = c.head.crops_for_assign.map((_, i) => Float32Array.from(c.queue_before!.slice(i * per, (i + 1) * per)));
    }
    head.normalizePrototypes();
    const x = tf.variable(tf.tensor2d(c.x, [c.x.length / d, d]));
    const { value, grads } = tf.variableGrads(() => head.forward(x).loss as Scalar, [x, head.prototypes.weight]);
    const loss = (await value.data())[0];
    const gx = maxRel(await grads[x.name].data(), c.grad_x);
    const gw = maxRel(await tf.transpose(grads[head.prototypes.weight.name]).data(), c.grad_prototypes_weight);
    console.log(`| ${name} | ${loss.toFixed(6)} | ${c.loss.toFixed(6)} | ${(Math.abs(loss - c.loss) / Math.abs(c.loss)).toExponential(1)} | ${gx.toExponential(1)}; ${gw.toExponential(1)} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
