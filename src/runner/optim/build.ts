import { ConfigError } from '../../errors.js';
import { checkArgs, Registry } from '../../registry/index.js';
import type { Variable } from '../../engine/tf.js';
import { Adam, AdamW } from './adam.js';
import { LARS } from './lars.js';
import type { Optimizer, Param, ParamGroup } from './optimizer.js';
import { SGD } from './sgd.js';
import { layerDecayOptions } from './transformer-finetune.js';

/** Optimizer builders keyed by MMSelfSup/PyTorch type name; args = `optimizer` minus `type`/`paramwise_options`. */
export const OPTIMIZERS = new Registry<(groups: ParamGroup[]) => Optimizer>('optimizer');

const SGD_ARGS = ['lr', 'momentum', 'dampening', 'weight_decay', 'nesterov'];
const ADAM_ARGS = ['lr', 'betas', 'eps', 'weight_decay', 'amsgrad'];
const LARS_ARGS = ['lr', 'momentum', 'dampening', 'weight_decay', 'eta', 'nesterov', 'eps'];

function defaults(type: string, args: Record<string, unknown>, accepted: string[], base: Record<string, unknown>): Record<string, unknown> {
  checkArgs(type, args, accepted);
  if (typeof args.lr !== 'number') throw new ConfigError(`optimizer (${type}) needs a numeric "lr"`);
  return { ...base, ...args };
}

OPTIMIZERS.register('SGD', (args) => {
  const d = defaults('SGD', args, SGD_ARGS, { momentum: 0, dampening: 0, weight_decay: 0, nesterov: false });
  return (groups) => new SGD(groups.map((g) => ({ ...d, ...g }) as ParamGroup));
});
OPTIMIZERS.register('Adam', (args) => {
  const d = defaults('Adam', args, ADAM_ARGS, { betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, amsgrad: false });
  return (groups) => new Adam(groups.map((g) => ({ ...d, ...g }) as ParamGroup));
});
OPTIMIZERS.register('AdamW', (args) => {
  const d = defaults('AdamW', args, ADAM_ARGS, { betas: [0.9, 0.999], eps: 1e-8, weight_decay: 1e-2, amsgrad: false });
  return (groups) => new AdamW(groups.map((g) => ({ ...d, ...g }) as ParamGroup));
});
OPTIMIZERS.register('LARS', (args) => {
  const { eps, ...rest } = defaults('LARS', args, LARS_ARGS, { momentum: 0, dampening: 0, weight_decay: 0, eta: 0.001, nesterov: false, eps: 1e-8 });
  return (groups) => new LARS(groups.map((g) => ({ ...rest, ...g }) as ParamGroup), eps as number);
});

/**
 * Translates a Python `re` pattern to a JavaScript RegExp: `\A` -> `^`, `\Z` -> `$`,
 * `(?P<name>` -> `(?<name>`, `(?P=name)` -> `\k<name>`.
 */
export function pythonRegex(pattern: string): RegExp {
  const js = pattern
    .replace(/\\A/g, '^')
    .replace(/\\Z/g, '$')
    .replace(/\(\?P<(\w+)>/g, '(?<$1>')
    .replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
  try {
    return new RegExp(js);
  } catch (e) {
    throw new ConfigError(`paramwise_options: "${pattern}" is not a valid regular expression (${(e as Error).message})`);
  }
}

export interface BuildOptimizerResult {
  optimizer: Optimizer;
  /** `paramwise_options -- name: key=value` lines, as MMSelfSup prints them. */
  messages: string[];
}

/**
 * MMSelfSup's `DefaultOptimizerConstructor`: without `paramwise_options` one group of all trainable
 * parameters; with it one group per parameter, every matching regex (`re.search`, in order) setting
 * its keys; `<key>_mult` multiplies the optimizer's `<key>` (`decay_mult`: weight_decay).
 */
export function buildOptimizer(namedParams: [string, Variable][], cfg: Record<string, unknown>): BuildOptimizerResult {
  const { type, ...args } = cfg;
  let { paramwise_options } = args;
  delete args.paramwise_options;
  if (typeof type !== 'string') throw new ConfigError('optimizer needs a string "type" (SGD, Adam, AdamW, LARS)');
  if (Object.hasOwn(args, 'constructor')) {
    const ctor = args['constructor'];
    delete args['constructor'];
    if (ctor === 'TransformerFinetuneConstructor') {
      const { layer_decay: layerDecay = 0, model_type: modelType } = args;
      delete args.layer_decay;
      delete args.model_type;
      if (typeof layerDecay !== 'number') throw new ConfigError(`optimizer.layer_decay must be a number, got ${JSON.stringify(layerDecay)}`);
      paramwise_options = layerDecayOptions(namedParams.map(([n]) => n), paramwise_options as never, layerDecay, modelType);
    } else if (ctor !== 'DefaultOptimizerConstructor') {
      throw new ConfigError(`optimizer.constructor "${String(ctor)}" is not supported; use DefaultOptimizerConstructor or TransformerFinetuneConstructor`);
    }
  }
  const make = OPTIMIZERS.build({ type, ...args });
  const params: Param[] = namedParams.filter(([, v]) => v.trainable).map(([name, variable]) => ({ name, variable }));
  const messages: string[] = [];
  if (paramwise_options === undefined || paramwise_options === null) {
    return { optimizer: make([{ params } as unknown as ParamGroup]), messages };
  }
  if (typeof paramwise_options !== 'object' || Array.isArray(paramwise_options)) {
    throw new ConfigError('optimizer.paramwise_options must be a mapping of regex -> options');
  }
  const rules = Object.entries(paramwise_options as Record<string, Record<string, unknown>>).map(
    ([pattern, opts]) => [pythonRegex(pattern), opts] as const,
  );
  const groups = params.map((p) => {
    const group: Record<string, unknown> = { params: [p] };
    for (const [re, opts] of rules) {
      if (!re.test(p.name)) continue;
      for (let [key, value] of Object.entries(opts)) {
        if (key.endsWith('_mult')) {
          // `decay_mult` is mmcv's name for a weight_decay multiplier
          key = key === 'decay_mult' ? 'weight_decay' : key.slice(0, -5);
          if (typeof args[key] !== 'number') throw new ConfigError(`paramwise_options: ${key}_mult needs optimizer.${key} to be set`);
          value = (args[key] as number) * (value as number);
        }
        group[key] = value;
        messages.push(`paramwise_options -- ${p.name}: ${key}=${JSON.stringify(value)}`);
      }
    }
    return group as unknown as ParamGroup;
  });
  return { optimizer: make(groups), messages };
}
