/** The compute engine: one tfjs-core instance, backend choice, Module/layers, weights I/O. */
export { tf } from './tf.js';
export type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Variable } from './tf.js';
export { BACKEND_NAMES, initBackend, type BackendChoice, type BackendName } from './backend.js';
export { Module, type LoadStateDictOptions, type LoadStateDictResult, type TorchLayout } from './module.js';
export { manualSeed, nextSeed } from './random.js';
export * as init from './init.js';
export * from './layers/index.js';
export { conv2d, type Conv2dOptions, type Padding } from './ops/conv.js';
export { fromTorch, loadTorchStateDict, toTorch, torchShape, torchStateDict } from './torch-layout.js';
export {
  decodeSafetensors,
  encodeSafetensors,
  loadWeights,
  rawFromTensor,
  saveWeights,
  tensorFromRaw,
  type RawTensor,
  type SafetensorsDtype,
} from './safetensors.js';
