/**
 * The one TensorFlow.js instance of the program. Every file imports `tf` from here
 * (`import { tf } from '../engine/tf.js'`), never `@tensorflow/tfjs` (the bundle would
 * bring a second tfjs-core whose kernels and variables are invisible to this one).
 *
 * Importing this module registers the `cpu` and `wasm` backends, tfjs-core's gradients and
 * ssl's fast convolution gradients (used on wasm). Optional backends (`tensorflow` from
 * tfjs-node(-gpu), `webgpu`) are loaded by `initBackend`.
 * The Node bundle of tfjs-core has no chained ops: write `tf.sum(x)`, not `x.sum()`.
 */
import * as tfCore from '@tensorflow/tfjs-core';
import { registerTfjsGradients } from './gradients/index.js';
import { tf as instance } from './tfjs.js';
import { registerWasmKernels } from './wasm/index.js';

// Production mode: no debug checks, and no console advice to install tfjs-node on every cpu start.
instance.enableProdMode();
registerTfjsGradients();
registerWasmKernels();

export const tf = instance;
export type Tensor = tfCore.Tensor;
export type Variable = tfCore.Variable;
export type Rank = tfCore.Rank;
export type Tensor1D = tfCore.Tensor1D;
export type Tensor2D = tfCore.Tensor2D;
export type Tensor3D = tfCore.Tensor3D;
export type Tensor4D = tfCore.Tensor4D;
export type NamedTensorMap = tfCore.NamedTensorMap;
