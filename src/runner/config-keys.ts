/**
 * Every top-level key of a resolved config is accounted for: read by `ssl train` (or its sibling
 * commands), a variable the config itself uses while it resolves (MMSelfSup's Python configs define
 * `train_pipeline`, `img_norm_cfg`, ... and reference them), or deliberately without effect here,
 * which the run says in one warning line. Keys that are none of these get a warning of their own.
 */

/** Keys `ssl train` acts on (and where). */
export const CONSUMED_KEYS: Record<string, string> = {
  model: 'the model',
  data: 'the data loaders',
  optimizer: 'the optimizer',
  optimizer_config: 'OptimizerHook',
  lr_config: 'LrUpdaterHook',
  momentum_config: 'MomentumUpdaterHook',
  runner: 'the runner',
  total_epochs: 'the runner (old form)',
  checkpoint_config: 'CheckpointHook',
  log_config: 'logger hooks',
  custom_hooks: 'custom hooks',
  custom_imports: 'modules loaded before building',
  evaluation: 'EvalHook',
  workflow: 'the runner',
  dist_params: 'the rendezvous port',
  seed: 'the random seed',
  load_from: 'weights loaded before training',
  resume_from: 'the checkpoint to resume',
  fp16: 'precision (bf16 mixed precision on the native engine; a warning where it cannot run)',
  log_level: 'the logger (INFO only)',
  backend: 'the TensorFlow.js backend',
  work_dir: 'the work dir',
  filename: 'the config file the resolved JSON came from',
  auto_scale_lr: '--auto-scale-lr',
  knn: 'ssl eval knn and EvalHook',
  svm: 'ssl eval svm (its train/val datasets without --voc)',
};

/** Variables of MMSelfSup's configs, read by the config itself while it resolves (as in MMSelfSup). */
export const CONFIG_VARIABLES = new Set([
  'img_norm_cfg', 'train_pipeline', 'train_pipeline1', 'train_pipeline2', 'test_pipeline', 'extract_pipeline', 'format_pipeline',
  'val_pipeline', 'dataset_type', 'train_dataset_type', 'extract_dataset_type', 'data_source', 'data_root', 'file_client_args',
  'prefetch', 'num_classes', 'num_crops', 'color_distort_strength', 'lr', 'update_interval', 'img_size', 'crop_size',
  'backbone', 'norm_cfg', 'pipeline', 'extractor',
]);

/** Keys that have no effect in ssl, and why (named together in one warning line). */
export const NO_EFFECT_KEYS: Record<string, string> = {
  cudnn_benchmark: 'no cuDNN',
  mp_start_method: 'data workers are threads',
  opencv_num_threads: 'no OpenCV',
  persistent_workers: 'data.persistent_workers is the one read',
  find_unused_parameters: 'gradients of unused parameters are zero',
  train_cfg: "MMSelfSup's runner does not read it either",
  test_cfg: "MMSelfSup's runner does not read it either",
  split_at: "read by MMSelfSup's SVM benchmark tool, which ssl does not have",
  split_name: "read by MMSelfSup's SVM benchmark tool, which ssl does not have",
  name: "read by MMSelfSup's t-SNE tool, which ssl does not have",
};

export interface KeyAudit {
  consumed: string[];
  variables: string[];
  noEffect: string[];
  unknown: string[];
  /** The warning lines a run logs (empty when every key is consumed or a variable). */
  warnings: string[];
}

/** Sorts the top-level keys of `cfg` into the categories above. */
export function auditConfigKeys(cfg: Record<string, unknown>): KeyAudit {
  const a: KeyAudit = { consumed: [], variables: [], noEffect: [], unknown: [], warnings: [] };
  for (const key of Object.keys(cfg)) {
    if (key in CONSUMED_KEYS) a.consumed.push(key);
    else if (CONFIG_VARIABLES.has(key)) a.variables.push(key);
    else if (key in NO_EFFECT_KEYS) a.noEffect.push(key);
    else a.unknown.push(key);
  }
  if (a.noEffect.length > 0) {
    a.warnings.push(`config keys without effect in ssl: ${a.noEffect.map((k) => `${k} (${NO_EFFECT_KEYS[k]})`).join(', ')}`);
  }
  if (typeof cfg.log_level === 'string' && cfg.log_level.toUpperCase() !== 'INFO') {
    a.warnings.push(`log_level ${cfg.log_level}: ssl logs at INFO`);
  }
  if (a.unknown.length > 0) {
    a.warnings.push(`config keys not used by ssl (nor known to MMSelfSup's runner): ${a.unknown.join(', ')}; check their spelling`);
  }
  return a;
}
