import { basename, extname, resolve, sep } from 'node:path';

/** What a config file name says by MMSelfSup's `{algorithm}_{module}_{training}_{data}` convention. */
export interface ConfigNameInfo {
  algorithm: string;
  module?: string;
  training?: string;
  data?: string;
  gpus?: number;
  samplesPerGpu?: number;
  /** gpus × samples per gpu: the batch size the config was written for. */
  totalBatch?: number;
  epochs?: number;
  iters?: number;
  /** Other schedule tokens as written (coslr, steplr, fp16, mcrop-2-6...). */
  scheduleTokens: string[];
  dataset?: string;
  /** Image sizes from the data part (in1k-224-96 -> [224, 96]). */
  imageSizes: number[];
}

const DATASETS: Record<string, string> = {
  in1k: 'ImageNet-1k',
  in21k: 'ImageNet-21k',
  cifar10: 'CIFAR-10',
  cifar100: 'CIFAR-100',
  places205: 'Places205',
  inat18: 'iNaturalist 2018',
  voc07: 'PASCAL VOC 2007',
  fmnist: 'Fashion-MNIST',
  mnist: 'MNIST',
  synthetic: 'built-in synthetic shapes',
};

export function parseConfigName(file: string): ConfigNameInfo {
  const stem = basename(file, extname(file));
  const [algorithm = stem, module, training, ...rest] = stem.split('_');
  const data = rest.length > 0 ? rest.join('_') : undefined;
  const info: ConfigNameInfo = { algorithm, module, training, data, scheduleTokens: [], imageSizes: [] };
  for (const token of training?.split('-') ?? []) {
    const batch = /^(\d+)xb(\d+)$/.exec(token);
    const epochs = /^(\d+)e$/.exec(token);
    const iters = /^(\d+)(k?)it(er)?s?$/.exec(token);
    if (batch) {
      info.gpus = Number(batch[1]);
      info.samplesPerGpu = Number(batch[2]);
      info.totalBatch = info.gpus * info.samplesPerGpu;
    } else if (epochs) info.epochs = Number(epochs[1]);
    else if (iters) info.iters = Number(iters[1]) * (iters[2] ? 1000 : 1);
    else info.scheduleTokens.push(token);
  }
  // Multi-crop tokens read better together: mcrop-2-6.
  info.scheduleTokens = joinNumericRuns(info.scheduleTokens);
  if (data) {
    const [name, ...sizes] = data.split('-');
    info.dataset = DATASETS[name!] ?? name;
    info.imageSizes = sizes.filter((s) => /^\d+$/.test(s)).map(Number);
  }
  return info;
}

function joinNumericRuns(tokens: string[]): string[] {
  const out: string[] = [];
  for (const t of tokens) {
    if (/^\d+$/.test(t) && out.length > 0) out[out.length - 1] += `-${t}`;
    else out.push(t);
  }
  return out;
}

/** MMSelfSup's default work dir: `work_dirs/<config path below configs/, without extension>`. */
export function defaultWorkDir(configPath: string): string {
  const abs = resolve(configPath);
  const parts = abs.split(sep);
  const at = parts.lastIndexOf('configs');
  const stem = at >= 0 ? parts.slice(at + 1).join('/') : basename(abs);
  return `work_dirs/${stem.slice(0, stem.length - extname(stem).length)}`;
}

/** Human-readable lines for `ssl config show --info`. */
export function describeConfigName(file: string): string[] {
  const i = parseConfigName(file);
  const lines = [`algorithm: ${i.algorithm}`];
  if (i.module) lines.push(`module: ${i.module}`);
  if (i.gpus !== undefined) lines.push(`batch: ${i.gpus} GPUs x ${i.samplesPerGpu} per GPU = ${i.totalBatch}`);
  if (i.epochs !== undefined) lines.push(`schedule: ${i.epochs} epochs`);
  if (i.iters !== undefined) lines.push(`schedule: ${i.iters} iterations`);
  for (const t of i.scheduleTokens) lines.push(`training: ${TOKENS[t] ?? t}`);
  if (i.dataset) lines.push(`data: ${i.dataset}${i.imageSizes.length ? ` at ${i.imageSizes.join(' and ')} px` : ''}`);
  lines.push(`work_dir: ${defaultWorkDir(file)}`);
  return lines;
}

const TOKENS: Record<string, string> = {
  coslr: 'cosine annealing learning rate (coslr)',
  steplr: 'step learning rate (steplr)',
  fp16: 'mixed precision (fp16)',
  lars: 'LARS optimizer',
};
