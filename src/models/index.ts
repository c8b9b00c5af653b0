import { ConfigError, RegistryError } from '../errors.js';
import { checkArgs, Registry } from '../registry/index.js';
import type { Module } from '../engine/module.js';
import { BACKBONES } from './backbones/index.js';
import { BarlowTwins } from './algorithms/barlowtwins.js';
import type { BaseAlgorithm, ListModule } from './algorithms/base.js';
import { BYOL } from './algorithms/byol.js';
import { Classification } from './algorithms/classification.js';
import { MoCo } from './algorithms/moco.js';
import { SimCLR } from './algorithms/simclr.js';
import { SimSiam } from './algorithms/simsiam.js';
import { ClsHead, ContrastiveHead, LatentCrossCorrelationHead, LatentPredictHead } from './heads/heads.js';
import { NonLinearNeck } from './necks/non-linear-neck.js';
import { AvgPool2dNeck, LinearNeck, MoCoV2Neck } from './necks/simple-necks.js';

type Cfg = Record<string, unknown>;

/** Necks by MMSelfSup type name. */
export const NECKS = new Registry<ListModule>('neck');
NECKS.register('NonLinearNeck', (a) => new NonLinearNeck(a) as unknown as ListModule);
NECKS.register('MoCoV2Neck', (a) => new MoCoV2Neck(a) as unknown as ListModule);
NECKS.register('LinearNeck', (a) => new LinearNeck(a) as unknown as ListModule);
NECKS.register('AvgPool2dNeck', (a) => new AvgPool2dNeck(a) as unknown as ListModule);

/** Heads by MMSelfSup type name. */
export const HEADS = new Registry<Module>('head');
HEADS.register('ContrastiveHead', (a) => new ContrastiveHead(a));
HEADS.register('LatentPredictHead', (a) => new LatentPredictHead(a, (c) => NECKS.build(c)));
HEADS.register('LatentCrossCorrelationHead', (a) => new LatentCrossCorrelationHead(a));
HEADS.register('ClsHead', (a) => new ClsHead(a));

function need(args: Cfg, key: string, type: string): Cfg {
  const v = args[key];
  if (!v || typeof v !== 'object') throw new ConfigError(`${type} needs "${key}" (a component config with a "type")`);
  return v as Cfg;
}

const backbone = (c: Cfg) => BACKBONES.build(c) as unknown as ListModule;

/** Algorithms by MMSelfSup type name, with MMSelfSup's arguments and defaults. */
export const ALGORITHMS = new Registry<BaseAlgorithm>('algorithm');
ALGORITHMS.register('SimCLR', (a) => {
  checkArgs('SimCLR', a, ['backbone', 'neck', 'head', 'init_cfg']);
  return new SimCLR(backbone(need(a, 'backbone', 'SimCLR')), NECKS.build(need(a, 'neck', 'SimCLR')), HEADS.build(need(a, 'head', 'SimCLR')) as ContrastiveHead);
});
ALGORITHMS.register('MoCo', (a) => {
  checkArgs('MoCo', a, ['backbone', 'neck', 'head', 'queue_len', 'feat_dim', 'momentum', 'init_cfg']);
  const b = need(a, 'backbone', 'MoCo');
  const n = need(a, 'neck', 'MoCo');
  return new MoCo(
    () => backbone(b),
    () => NECKS.build(n),
    HEADS.build(need(a, 'head', 'MoCo')) as ContrastiveHead,
    (a.queue_len as number) ?? 65536,
    (a.feat_dim as number) ?? 128,
    (a.momentum as number) ?? 0.999,
  );
});
ALGORITHMS.register('BYOL', (a) => {
  checkArgs('BYOL', a, ['backbone', 'neck', 'head', 'base_momentum', 'init_cfg']);
  const b = need(a, 'backbone', 'BYOL');
  const n = need(a, 'neck', 'BYOL');
  return new BYOL(() => backbone(b), () => NECKS.build(n), HEADS.build(need(a, 'head', 'BYOL')) as LatentPredictHead, (a.base_momentum as number) ?? 0.996);
});
ALGORITHMS.register('SimSiam', (a) => {
  checkArgs('SimSiam', a, ['backbone', 'neck', 'head', 'init_cfg']);
  return new SimSiam(backbone(need(a, 'backbone', 'SimSiam')), NECKS.build(need(a, 'neck', 'SimSiam')), HEADS.build(need(a, 'head', 'SimSiam')) as LatentPredictHead);
});
ALGORITHMS.register('BarlowTwins', (a) => {
  checkArgs('BarlowTwins', a, ['backbone', 'neck', 'head', 'init_cfg']);
  return new BarlowTwins(
    backbone(need(a, 'backbone', 'BarlowTwins')),
    NECKS.build(need(a, 'neck', 'BarlowTwins')),
    HEADS.build(need(a, 'head', 'BarlowTwins')) as LatentCrossCorrelationHead,
  );
});
ALGORITHMS.register('Classification', (a) => {
  checkArgs('Classification', a, ['backbone', 'head', 'with_sobel', 'init_cfg']);
  if (a.with_sobel) throw new ConfigError('Classification: with_sobel is not supported');
  return new Classification(backbone(need(a, 'backbone', 'Classification')), HEADS.build(need(a, 'head', 'Classification')) as ClsHead);
});

/**
 * Builds the algorithm of `cfg.model`. Unknown types and arguments fail naming the key, the
 * component and (when given) the config file.
 */
export function buildModel(modelCfg: unknown, source?: string): BaseAlgorithm {
  if (!modelCfg || typeof modelCfg !== 'object') throw new ConfigError(`the config has no "model"${source ? ` (${source})` : ''}`);
  try {
    return ALGORITHMS.build(modelCfg as Cfg);
  } catch (e) {
    if (e instanceof RegistryError && source) {
      throw new RegistryError(`${e.message} (in model of ${source})`, { code: e.code, suggestions: e.suggestions });
    }
    throw e;
  }
}

export { BACKBONES };
