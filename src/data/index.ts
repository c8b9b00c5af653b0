/**
 * ssl's data layer (MMSelfSup `mmselfsup.datasets`): data sources, datasets, pipelines and a
 * worker-thread loader yielding NHWC float32 batches. No TensorFlow.js in here.
 */
export type * from './types.js';
export { Rng, seedOf } from './rng.js';
export { DATASOURCES } from './sources/index.js';
export { PIPELINES, Compose, buildPipeline } from './pipelines/index.js';
export { DATASETS, buildDataset } from './datasets/index.js';
export { DistributedSampler } from './sampler.js';
export { collate } from './collate.js';
export { buildDataLoader, loadBatch, sampleRng } from './loader.js';
export { registerFileBackend, fileClient, diskBackend } from './file-client.js';
export type { FileBackend } from './file-client.js';
export { decodeImage, encodePng } from './decode.js';
export { buildTrainLoader } from './train-loader.js';
export type { TrainLoaderOptions } from './train-loader.js';
