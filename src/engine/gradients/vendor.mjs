#!/usr/bin/env node
// Regenerates tfjs-gradients.ts from @tensorflow/tfjs-core's dist/gradients (Apache-2.0).
// Why: in tfjs 4.x only the @tensorflow/tfjs bundle registers gradients; tfjs-core's Node build
// has none and its ESM dist cannot be imported by Node (extension-less imports). We use tfjs-core
// directly (one instance), so we vendor the gradient configs, rebinding their imports to `tf`.
// Usage: node src/engine/gradients/vendor.mjs
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tfCore from '@tensorflow/tfjs-core';

const require = createRequire(import.meta.url);
const coreDir = dirname(require.resolve('@tensorflow/tfjs-core/package.json'));
const version = JSON.parse(readFileSync(join(coreDir, 'package.json'), 'utf8')).version;
const gradDir = join(coreDir, 'dist', 'gradients');
const files = ['min_max_grad_util.js', 'Abs_grad.js', ...readdirSync(gradDir).filter((f) => f.endsWith('_grad.js') && f !== 'Abs_grad.js').sort()];

// tfjs-core's Node build has no chained ops (x.reshape(...)); these gradient lines use them.
const CHAINED_CALLS = [
  ['dy.clone()', 'tf.clone(dy)'],
  ['x.split(batchSize, 0)', 'tf.split(x, batchSize, 0)'],
  ['indices.slice(i, 1)', 'tf.slice(indices, i, 1)'],
  ['dy.slice(i, 1)', 'tf.slice(dy, i, 1)'],
  ['stacked.reshape(x.shape)', 'tf.reshape(stacked, x.shape)'],
  ['permutedX.reshape(newShape)', 'tf.reshape(permutedX, newShape)'],
  ['prodGrad.reshape(permutedX.shape)', 'tf.reshape(prodGrad, permutedX.shape)'],
];
const unusedRewrites = new Set(CHAINED_CALLS.map(([from]) => from));

const namespaces = new Map(); // local name -> expression
const named = new Map(); // local name -> expression
const configs = [];
let body = '';
for (const file of files) {
  let src = readFileSync(join(gradDir, file), 'utf8');
  src = src.replace(/\/\/# sourceMappingURL=.*$/m, '').replace(/\/\*\*[\s\S]*?@license[\s\S]*?\*\/\n/, '');
  src = src.replace(/^import \* as (\w+) from '([^']+)';\n/gm, (_, local, from) => {
    namespaces.set(local, from.endsWith('/util') ? '{ ...tf.backend_util, ...tf.util }' : 'tf.backend_util');
    return '';
  });
  src = src.replace(/^import \{([^}]*)\} from '([^']+)';\n/gm, (_, names, from) => {
    for (const part of names.split(',').map((s) => s.trim()).filter(Boolean)) {
      const [orig, local = orig] = part.split(/\s+as\s+/);
      if (from.startsWith('./')) continue; // defined in this file
      named.set(local, { orig, from });
    }
    return '';
  });
  src = src.replace(/^export const (\w+GradConfig)/gm, (_, name) => {
    configs.push(name);
    return `const ${name}`;
  });
  src = src.replace(/^export (function|const) /gm, '$1 ');
  for (const [from, to] of CHAINED_CALLS) {
    if (src.includes(from)) {
      src = src.split(from).join(to);
      unusedRewrites.delete(from);
    }
  }
  body += `// ---- ${file}\n${src.trim()}\n\n`;
}

const shims = {
  ENGINE: 'tf.engine()',
  parseSliceParams: 'tf.slice_util.parseSliceParams',
  parseAxisParam: 'tf.util.parseAxisParam',
};
const runKernelShims = {
  maxPoolGrad: `(dy, input, output, filterSize, strides, pad, dimRoundingMode) => run('MaxPoolGrad', { dy, input, output }, { filterSize, strides, pad, dimRoundingMode })`,
  maxPool3dGrad: `(dy, input, output, filterSize, strides, pad, dimRoundingMode) => run('MaxPool3DGrad', { dy, input, output }, { filterSize, strides, pad, dimRoundingMode })`,
  avgPoolGrad: `(dy, input, filterSize, strides, pad) => run('AvgPoolGrad', { dy, input }, { filterSize, strides, pad })`,
  avgPool3dGrad: `(dy, input, filterSize, strides, pad, dimRoundingMode) => run('AvgPool3DGrad', { dy, input }, { filterSize, strides, pad, dimRoundingMode })`,
  conv2DBackpropFilter: `(x, dy, filterShape, strides, pad, dataFormat = 'NHWC', dimRoundingMode) => run('Conv2DBackpropFilter', { x, dy }, { strides, pad, dataFormat, dimRoundingMode, filterShape })`,
  conv2DBackpropInput: `(inputShape, dy, filter, strides, pad, dataFormat = 'NHWC', dimRoundingMode) => run('Conv2DBackpropInput', { dy, filter }, { strides, pad, dataFormat, dimRoundingMode, inputShape })`,
  conv3DBackpropFilter: `(x, dy, filterShape, strides, pad) => run('Conv3DBackpropFilterV2', { x, dy }, { strides, pad, filterShape })`,
  conv3DBackpropInput: `(inputShape, dy, filter, strides, pad) => run('Conv3DBackpropInputV2', { dy, filter }, { pad, strides, inputShape })`,
  depthwiseConv2dNativeBackpropFilter: `(x, dy, filterShape, strides, pad, dilations = [1, 1], dimRoundingMode) => run('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { strides, pad, dimRoundingMode, dilations, filterShape })`,
  depthwiseConv2dNativeBackpropInput: `(inputShape, dy, filter, strides, pad, dilations = [1, 1], dimRoundingMode) => run('DepthwiseConv2dNativeBackpropInput', { dy, filter }, { strides, pad, dimRoundingMode, dilations, inputShape })`,
  localResponseNormalizationBackprop: `(x, y, dy, depthRadius = 5, bias = 1, alpha = 1, beta = 0.5) => run('LRNGrad', { x, y, dy }, { depthRadius, bias, alpha, beta })`,
};

function publicPath(name) {
  for (const [path, ns] of [['tf', tfCore], ['tf.backend_util', tfCore.backend_util], ['tf.util', tfCore.util]]) {
    if (ns[name] !== undefined) return `${path}.${name}`;
  }
  throw new Error(`no public tfjs-core export for ${name}; add a shim`);
}

if (unusedRewrites.size > 0) throw new Error(`tfjs-core changed: chained-op rewrites not applied: ${[...unusedRewrites].join(', ')}`);

let preamble = '';
for (const [local, expr] of namespaces) preamble += `const ${local} = ${expr};\n`;
for (const [local, { orig }] of [...named].sort()) {
  const expr = runKernelShims[orig] ?? shims[orig] ?? publicPath(orig);
  preamble += `const ${local} = ${expr};\n`;
}

const out = `// @ts-nocheck
/* eslint-disable */
// GENERATED by src/engine/gradients/vendor.mjs from @tensorflow/tfjs-core ${version} dist/gradients.
// Copyright Google LLC, Apache License 2.0 (http://www.apache.org/licenses/LICENSE-2.0). Do not edit.
import { tf } from '../tfjs.js';

const run = (name, inputs, attrs) => tf.engine().runKernel(name, inputs, attrs);
${preamble}
${body}
/** Every gradient config of tfjs-core ${version}, for tf.registerGradient. */
export const TFJS_GRADIENT_CONFIGS = [${configs.join(', ')}];
`;
const target = join(dirname(fileURLToPath(import.meta.url)), 'tfjs-gradients.ts');
writeFileSync(target, out);
console.log(`wrote ${target}: ${configs.length} gradient configs, ${out.length} bytes`);
