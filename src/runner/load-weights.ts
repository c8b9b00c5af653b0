import { SslError } from '../errors.js';
import type { Tensor } from '../engine/tf.js';
import type { TorchLayout } from '../engine/module.js';
import { BadCheckpointError, checkCheckpointFile, torchShapes } from './checkpoint-check.js';
import { layoutsOf, readCheckpoint } from './checkpoint.js';
import type { TrainableModel } from '../models/contracts.js';
import { looksLikeZip } from '../engine/pth/zip-archive.js';
import { readTorchCheckpoint, toModelTensor, type TorchCheckpoint } from '../engine/pth/checkpoint-file.js';

/** Where loaded weights go: the whole algorithm (`load_from`, `model.init_cfg`) or its backbone (`model.backbone.init_cfg`). */
export type WeightsTarget = 'model' | 'backbone';

export interface LoadWeightsOptions {
  /** mmcv `PretrainedInit.prefix`: only the file's keys starting with it, the prefix stripped. */
  prefix?: string;
  into?: WeightsTarget;
  /** Names the setting in messages (`--load-from`, `load_from`, `model.backbone.init_cfg`). */
  what: string;
  /** The one warning line of a partial load. */
  warn: (message: string) => void;
  /** Every backbone tensor must come from the file (`ssl eval knn --checkpoint`, `ssl model import --config`). */
  requireBackbone?: boolean;
}

export interface LoadWeightsResult {
  loaded: number;
  missingKeys: string[];
  unexpectedKeys: string[];
  /** `backbone.` when the file held a backbone alone and its keys were put under the model's backbone. */
  addedPrefix: string;
  /** Prefix removed from the file's keys (`prefix`, or `backbone.` for a whole model loaded into a backbone). */
  strippedPrefix: string;
}

type Model = TrainableModel & { stateDictAliases?: () => Record<string, string> };

/**
 * The model-state tensor names of an ssl weights file (checkpoint, published model, extracted backbone),
 * from its header, and the names it also saves under a second prefix (`backbone` -> `encoder_q.0`).
 */
export function weightsFileNames(path: string, what = 'checkpoint'): { names: string[]; aliases: Record<string, string>; shapes: Map<string, number[]> } {
  const header = checkCheckpointFile(path, what);
  let aliases: Record<string, string> = {};
  if (header.metadata.meta) aliases = (JSON.parse(header.metadata.meta) as { state_dict_aliases?: Record<string, string> }).state_dict_aliases ?? {};
  const skip = Object.keys(aliases).map((a) => `state_dict.${a}.`);
  const shapes = new Map<string, number[]>();
  for (const [k, s] of header.shapes) if (k.startsWith('state_dict.') && !skip.some((a) => k.startsWith(a))) shapes.set(k.slice('state_dict.'.length), s);
  return { names: [...shapes.keys()], aliases, shapes };
}

/** The first 10 names and the count (mmcv's warning lists them all; one line stays readable). */
function preview(names: string[]): string {
  return names.length <= 10 ? names.join(', ') : `${names.slice(0, 10).join(', ')} and ${names.length - 10} more`;
}

/**
 * Loads the weights of any file `ssl` writes into `model`, by MMSelfSup's (mmcv's) rules:
 * `prefix` selects and strips keys (PretrainedInit); a backbone-only file (`ssl model extract-backbone`)
 * loaded into an algorithm goes under `backbone.`; a whole-model file loaded into a backbone without a
 * prefix gives its `backbone.*` part; names MMSelfSup saves twice (MoCo's `backbone.` = `encoder_q.0.`)
 * resolve to the module. Non-strict like mmcv's `load_checkpoint(strict=False)`, but a load that
 * matches no tensor is an error, and a partial one is reported in one warning line.
 */
export async function loadWeights(model: Model, path: string, o: LoadWeightsOptions): Promise<LoadWeightsResult> {
  const into = o.into ?? 'model';
  const own = layoutsOf(model);
  const ownNames = own.size > 0 ? new Set(own.keys()) : new Set(model.stateDict().keys());
  const aliases = Object.entries(model.stateDictAliases?.() ?? {});
  const resolveAlias = (n: string): string => {
    for (const [alias, target] of aliases) if (n.startsWith(`${alias}.`)) return `${target}${n.slice(alias.length)}`;
    return n;
  };

  // a PyTorch .pth (torch.save's zip) or a file ssl wrote
  const torchFile = looksLikeZip(path) ? await readTorchFile(path, o.what) : undefined;
  const file = torchFile
    ? { names: [...torchFile.state.keys()], aliases: {} as Record<string, string>, shapes: new Map([...torchFile.state].map(([n, t]) => [n, t.shape])) }
    : weightsFileNames(path, o.what);
  let fileNames = file.names;
  let stripped = '';
  if (o.prefix) {
    // a prefix naming a module the file saves twice (MoCo's backbone. = encoder_q.0.) selects the stored copy
    let p = o.prefix;
    for (const [alias, target] of Object.entries(file.aliases)) if (p.startsWith(`${alias}.`)) p = `${target}${p.slice(alias.length)}`;
    const selected = fileNames.filter((n) => n.startsWith(p));
    if (selected.length === 0) {
      throw new SslError(`${o.what}: no tensor of ${path} starts with prefix "${o.prefix}" (it has ${preview(fileNames)})`, { code: 'NO_MATCHING_WEIGHTS' });
    }
    fileNames = selected;
    stripped = p;
  }
  const strip = (n: string) => n.slice(stripped.length);
  // mapping candidates: names as they are (under the target), or with backbone. added (a backbone file into a model) / removed (a model file into a backbone)
  const base = into === 'backbone' ? 'backbone.' : '';
  const direct = (n: string): string | undefined => resolveAlias(`${base}${strip(n)}`);
  const alt =
    into === 'model'
      ? (n: string): string | undefined => resolveAlias(`backbone.${strip(n)}`)
      : (n: string): string | undefined => (strip(n).startsWith('backbone.') ? resolveAlias(strip(n)) : undefined);
  const hits = (f: (n: string) => string | undefined) => fileNames.filter((n) => ownNames.has(f(n) ?? '')).length;
  const useAlt = hits(alt) > hits(direct);
  const map = useAlt ? alt : direct;
  const addedPrefix = useAlt && into === 'model' ? 'backbone.' : '';
  // a whole model into a backbone: its backbone part, as if prefix backbone. had been given
  if (useAlt && into === 'backbone') fileNames = fileNames.filter((n) => strip(n).startsWith('backbone.'));

  const layouts = new Map<string, TorchLayout>();
  for (const n of fileNames) {
    const target = map(n);
    const layout = target === undefined ? undefined : own.get(target);
    if (layout) layouts.set(n, layout);
  }
  // shapes from the header, in PyTorch layout, before any tensor is read: the first mismatch, both shapes
  const ownShapes = torchShapes(model);
  for (const n of fileNames) {
    const target = map(n);
    const mine = target === undefined ? undefined : ownShapes.get(target);
    const theirs = file.shapes.get(n)!;
    if (mine && (mine.length !== theirs.length || mine.some((d, i) => d !== theirs[i]))) {
      throw new BadCheckpointError(
        `${o.what}: ${path} does not fit this model: ${n} is [${theirs.join(', ')}] there and ${target === n ? '' : `${target} is `}[${mine.join(', ')}] in this model`,
        'CHECKPOINT_MISMATCH',
      );
    }
  }
  const ckpt = torchFile ? torchTensors(torchFile, fileNames, map, model, own) : await readCheckpoint(path, layouts);
  try {
    const state = new Map<string, Tensor>();
    const unexpectedKeys: string[] = [];
    for (const n of fileNames) {
      const target = map(n);
      const t = ckpt.stateDict.get(n);
      if (t && target !== undefined && ownNames.has(target)) state.set(target, t);
      else unexpectedKeys.push(n);
    }
    if (state.size === 0) {
      throw new SslError(
        `${o.what}: ${path} has no tensor this model takes (it has ${preview(fileNames)}; the ${into === 'backbone' ? 'backbone' : 'model'} has ${preview([...ownNames])})`,
        { code: 'NO_MATCHING_WEIGHTS' },
      );
    }
    const scope = into === 'backbone' ? resolveAlias('backbone.') : '';
    const missingKeys = [...ownNames].filter((n) => n.startsWith(scope) && !state.has(n));
    if (o.requireBackbone) {
      const bb = resolveAlias('backbone.');
      const missingBackbone = missingKeys.filter((n) => n.startsWith(bb));
      if (missingBackbone.length > 0) {
        throw new SslError(`${o.what}: ${path} lacks backbone tensors the model needs: ${preview(missingBackbone)}`, { code: 'STATE_DICT_MISMATCH' });
      }
    }
    model.loadStateDict(state, { strict: false });
    if (missingKeys.length > 0 || unexpectedKeys.length > 0) {
      const conv = torchFile && torchFile.conventions.length > 0 ? `; ${torchFile.conventions.join(', ')}` : '';
      const parts = [`${o.what}: loaded ${state.size} tensors of ${path}${addedPrefix ? ' (a backbone: into backbone.)' : ''}${conv}`];
      if (unexpectedKeys.length > 0) parts.push(`unexpected key in source state_dict: ${preview(unexpectedKeys)}`);
      if (missingKeys.length > 0) parts.push(`missing keys in source state_dict: ${preview(missingKeys)}`);
      o.warn(parts.join('; '));
    }
    return { loaded: state.size, missingKeys, unexpectedKeys, addedPrefix, strippedPrefix: useAlt && into === 'backbone' ? `${stripped}backbone.` : stripped };
  } finally {
    ckpt.dispose();
  }
}

/** A .pth's state dict; its errors name the setting, as the checks of ssl files do. */
async function readTorchFile(path: string, what: string): Promise<TorchCheckpoint> {
  try {
    return await readTorchCheckpoint(path);
  } catch (e) {
    if (e instanceof SslError && !e.message.startsWith(`${what}:`)) throw new SslError(`${what}: ${e.message}`, { code: e.code });
    throw e;
  }
}

/** The file tensors that map to a model tensor, shape-checked and in TF.js layout (readCheckpoint's shape). */
function torchTensors(
  file: TorchCheckpoint,
  names: string[],
  map: (n: string) => string | undefined,
  model: Model,
  layouts: Map<string, TorchLayout>,
): { stateDict: Map<string, Tensor>; dispose(): void } {
  const own = model.stateDict();
  const stateDict = new Map<string, Tensor>();
  const dispose = () => {
    for (const t of stateDict.values()) t.dispose();
  };
  try {
    for (const n of names) {
      const target = map(n);
      const mine = target === undefined ? undefined : own.get(target);
      if (!mine) continue;
      stateDict.set(n, toModelTensor(n, file.state.get(n)!, { layout: layouts.get(target!) ?? 'same', shape: mine.shape }, file.path));
    }
  } catch (e) {
    dispose();
    throw e;
  }
  return { stateDict, dispose };
}
