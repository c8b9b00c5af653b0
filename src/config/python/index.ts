/**
 * Reader of MMSelfSup's Python config files: a tokenizer, parser and evaluator of the
 * Python subset those files use (no Python at run time). Plugs into the config loader
 * as the `.py` format; the loader does `_base_` merging and `{{_base_.x}}` references.
 */
import type { ConfigParser } from '../parsers.js';
import type { ConfigDict, ConfigValue } from '../types.js';
import { isDict } from '../types.js';
import { evaluateModule } from './evaluator.js';
import { parseModule } from './parser.js';
import type { ToConfigOptions } from './values.js';
import { setKey, toConfigValue } from './values.js';

export type { ToConfigOptions } from './values.js';

/**
 * Runs a Python config file's text and returns its top-level names (mmcv semantics: every
 * name not starting with `__`, in first-assignment order; tuples as arrays; `_base_` as written).
 * @throws ConfigError `unsupported syntax: list comprehension at configs/x.py:12:9` and the like.
 * @example parsePythonConfig("lr = 0.03 * 2\nmodel = dict(type='SimCLR')", 'x.py') // {lr: 0.06, model: {type: 'SimCLR'}}
 */
export function parsePythonConfig(text: string, filename: string, options: ToConfigOptions = {}): ConfigDict {
  const scope = evaluateModule(parseModule(text, filename), filename);
  const out: ConfigDict = {};
  for (const [name, value] of scope) if (!name.startsWith('__')) setKey(out, name, toConfigValue(value, options));
  return out;
}

/** The `.py` config format for `registerConfigParser`. `{{_base_.x}}` arrive as quoted placeholder strings, as in mmcv. */
export const pythonConfigParser: ConfigParser = {
  name: 'python',
  extensions: ['.py'],
  quoteBaseRefs: true,
  parse: (text, filename) => parsePythonConfig(text, filename),
};

/**
 * Warnings for `custom_imports` entries that name Python modules (`mmcls.models`), which cannot
 * load here: one line per module, naming the component types of `cfg` that module was for
 * (types scoped by its package, `mmcls.SwinTransformer`, or named after the module's file,
 * `res_layer_extra_norm` -> `ResLayerExtraNorm`). Entries that are JS/TS paths give none.
 */
export function pythonImportWarnings(cfg: ConfigDict): string[] {
  const spec = cfg.custom_imports;
  if (!isDict(spec)) return [];
  const imports = typeof spec.imports === 'string' ? [spec.imports] : Array.isArray(spec.imports) ? spec.imports : [];
  const types = [...new Set(collectTypes(cfg))];
  const warnings: string[] = [];
  for (const module of imports) {
    if (typeof module !== 'string' || !isPythonModuleName(module)) continue;
    const parts = module.split('.');
    const scope = `${parts[0]}.`;
    const file = parts[parts.length - 1]!;
    const used = types.filter((t) => t.startsWith(scope) || snakeCase(t) === file);
    const what = used.length > 0
      ? `the config uses ${used.join(', ')} from it; ssl must provide ${used.length === 1 ? 'this type' : 'these types'} under the same name${used.length === 1 ? '' : 's'}`
      : `no type in the config is scoped "${scope}" or named after it; any component it registers must exist in ssl`;
    warnings.push(`custom_imports: "${module}" is a Python module and cannot be imported by ssl; ${what}`);
  }
  return warnings;
}

function isPythonModuleName(name: string): boolean {
  return /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$/.test(name) && !/\.(c|m)?(js|ts)$/.test(name);
}

function collectTypes(value: ConfigValue): string[] {
  if (Array.isArray(value)) return value.flatMap(collectTypes);
  if (!isDict(value)) return [];
  const own = typeof value.type === 'string' ? [value.type] : [];
  return [...own, ...Object.values(value).flatMap(collectTypes)];
}

function snakeCase(typeName: string): string {
  const bare = typeName.slice(typeName.lastIndexOf('.') + 1);
  return bare.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2').toLowerCase();
}
