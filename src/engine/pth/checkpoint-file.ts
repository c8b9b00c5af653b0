/**
 * What a PyTorch `.pth` holds, in ssl's terms. Accepted shapes of file (mmcv's `_load_checkpoint`
 * rules): an MMSelfSup/mmcv checkpoint `{meta, state_dict, optimizer}`, `{'state_dict': ...}`
 * (extract_backbone_weights.py), `{'model': ...}` (timm, MAE, DeiT), or a bare state dict
 * (torchvision). Key conventions, applied in this order:
 * - `module.` (DataParallel/DDP) is stripped from every key (mmcv's default `revise_keys`);
 * - timm ViT names become MMSelfSup's (mmcls) ones: the inverse of MMSelfSup's
 *   tools/model_converters/mmcls2timm.py (`blocks.` -> `layers.`, `norm1/2` -> `ln1/2`,
 *   final `norm.` -> `ln1.`, `mlp.fc1` -> `ffn.layers.0.0`, `mlp.fc2` -> `ffn.layers.1`,
 *   `patch_embed.proj` -> `patch_embed.projection`);
 * - torchvision ResNet names are MMSelfSup's already (`conv1`, `bn1`, `layerN.i.convK`,
 *   `downsample.0/1`); its `fc.*` classifier has no place in a backbone and is reported unexpected;
 * - a tensor saved twice under two names (MMSelfSup's MoCo: `backbone.*` = `encoder_q.0.*`, the same
 *   storage) is kept once, under its first name.
 */
import { SslError } from '../../errors.js';
import type { Tensor } from '../tf.js';
import type { TorchLayout } from '../module.js';
import { fromTorch, torchShape } from '../torch-layout.js';
import { tensorFromRaw, type RawTensor } from '../safetensors.js';
import { isPthTensor, readPth, type PthTensor } from './read-pth.js';
import { PyDict, type PyValue } from './unpickler.js';

/** A checkpoint's `meta`: mmcv writes `epoch` (epochs done) and `iter`, besides anything else. */
export interface TorchMeta {
  epoch: number;
  iter: number;
  [key: string]: unknown;
}

export interface TorchCheckpoint {
  path: string;
  /** The checkpoint's `meta` (epoch, iter, seed...); epoch and iter 0 when it has none. */
  meta: TorchMeta;
  /** Whether the file has a `meta` (training state) at all. */
  hasMeta: boolean;
  /** Tensors in PyTorch layout under their (converted) names, in the file's order. */
  state: Map<string, PthTensor>;
  /** PyTorch's optimizer `state_dict()` as stored, when the file has one. */
  optimizer: PyDict | undefined;
  /** Module prefixes saved twice, second name -> the kept one (MMSelfSup's MoCo: `backbone` -> `encoder_q.0`). */
  aliases: Record<string, string>;
  /** What was converted, for the log (`module. stripped`, `timm ViT names`...). */
  conventions: string[];
}

const TIMM_VIT: [RegExp, string][] = [
  [/^blocks\./, 'layers.'],
  [/\.norm1\./, '.ln1.'],
  [/\.norm2\./, '.ln2.'],
  [/^norm\./, 'ln1.'],
  [/\.mlp\.fc1\./, '.ffn.layers.0.0.'],
  [/\.mlp\.fc2\./, '.ffn.layers.1.'],
  [/^patch_embed\.proj\./, 'patch_embed.projection.'],
];

/** A plain JSON-able copy of a pickled value (meta): dicts -> objects, tensors -> their shape. */
function plain(v: PyValue): unknown {
  if (v instanceof PyDict) return Object.fromEntries([...v].map(([k, x]) => [String(k), plain(x)]));
  if (Array.isArray(v)) return v.map(plain);
  if (isPthTensor(v)) return `tensor[${v.shape.join(', ')}]`;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('latin1');
  return v;
}

function tensorDict(v: PyValue): v is PyDict {
  return v instanceof PyDict && v.size > 0 && [...v.values()].some(isPthTensor);
}

/** Reads and normalises a `.pth` file (see the module comment). @throws SslError when it holds no state dict. */
export async function readTorchCheckpoint(path: string): Promise<TorchCheckpoint> {
  const root = await readPth(path);
  const conventions: string[] = [];
  let sd: PyDict | undefined;
  let meta: TorchMeta = { epoch: 0, iter: 0 };
  let optimizer: PyDict | undefined;
  let hasMeta = false;
  if (root instanceof PyDict && tensorDict(root.get('state_dict'))) {
    sd = root.get('state_dict') as PyDict;
    const m = root.get('meta');
    if (m instanceof PyDict) {
      meta = { epoch: 0, iter: 0, ...(plain(m) as Record<string, unknown>) } as TorchMeta;
      hasMeta = true;
    }
    const o = root.get('optimizer');
    if (o instanceof PyDict) optimizer = o;
  } else if (root instanceof PyDict && tensorDict(root.get('model'))) {
    sd = root.get('model') as PyDict;
    conventions.push("the 'model' entry");
  } else if (tensorDict(root)) {
    sd = root as PyDict;
  }
  if (!sd) {
    const keys = root instanceof PyDict ? [...root.keys()].slice(0, 10).map(String).join(', ') : typeof root;
    throw new SslError(`${path} holds no state dict (a dict of tensors, or one under 'state_dict' or 'model'); it has: ${keys}`, { code: 'NO_MATCHING_WEIGHTS' });
  }
  let entries = [...sd].filter((e): e is [string, PthTensor] => typeof e[0] === 'string' && isPthTensor(e[1]));
  if (entries.some(([k]) => k.startsWith('module.'))) {
    entries = entries.map(([k, t]) => [k.replace(/^module\./, ''), t]);
    conventions.push('module. stripped');
  }
  if (entries.some(([k]) => k.startsWith('blocks.') || k.startsWith('patch_embed.proj.'))) {
    entries = entries.map(([k, t]) => [TIMM_VIT.reduce((s, [re, to]) => s.replace(re, to), k), t]);
    conventions.push('timm ViT names -> MMSelfSup');
  }
  const state = new Map<string, PthTensor>();
  const seen = new Map<string, string>();
  const aliases: Record<string, string> = {};
  let aliased = 0;
  for (const [k, t] of entries) {
    const id = `${t.storageKey}@${t.storageOffset}:${t.dtype}[${t.shape.join(',')}]`;
    const first = seen.get(id);
    if (first !== undefined) {
      aliased++;
      const [alias, target] = prefixPair(k, first);
      if (alias && target && !(alias in aliases)) aliases[alias] = target;
      continue;
    }
    seen.set(id, k);
    if (state.has(k)) throw new SslError(`${path}: two tensors named ${k} after key conversion`, { code: 'CORRUPT_CHECKPOINT' });
    state.set(k, t);
  }
  if (aliased > 0) conventions.push(`${aliased} tensors saved twice kept once`);
  return { path, meta, hasMeta, state, optimizer, aliases, conventions };
}

/** `backbone.conv1.weight`, `encoder_q.0.conv1.weight` -> [`backbone`, `encoder_q.0`]: the prefixes before the common suffix. */
function prefixPair(a: string, b: string): [string, string] {
  const x = a.split('.');
  const y = b.split('.');
  let n = 0;
  while (n < x.length - 1 && n < y.length - 1 && x[x.length - 1 - n] === y[y.length - 1 - n]) n++;
  return [x.slice(0, x.length - n).join('.'), y.slice(0, y.length - n).join('.')];
}

/** The state with the second names added back (the same tensors), as the file had them. */
export function withAliases(state: Map<string, RawTensor>, aliases: Record<string, string>): Map<string, RawTensor> {
  const out = new Map(state);
  for (const [alias, target] of Object.entries(aliases)) {
    for (const [n, t] of state) if (n.startsWith(`${target}.`)) out.set(`${alias}${n.slice(target.length)}`, t);
  }
  return out;
}

/** Only the `meta` of a `.pth` checkpoint (its pickle is read, its storages are not). */
export async function readTorchMeta(path: string): Promise<TorchMeta> {
  const root = await readPth(path, { pickleOnly: true });
  const m = root instanceof PyDict ? root.get('meta') : undefined;
  return { epoch: 0, iter: 0, ...(m instanceof PyDict ? (plain(m) as Record<string, unknown>) : {}) } as TorchMeta;
}

/** What a file tensor must become: the model's layout and TF.js shape. */
export interface TensorTarget {
  layout: TorchLayout;
  shape: readonly number[];
}

/**
 * One file tensor in TF.js layout for a model tensor, after checking its PyTorch-layout shape
 * (`path` starts the message: the file, or `<setting>: <file>`).
 * @throws SslError naming the tensor and both shapes.
 */
export function toModelTensor(name: string, raw: RawTensor, target: TensorTarget, path: string): Tensor {
  const want = torchShape(target.shape, target.layout);
  if (want.length !== raw.shape.length || want.some((d, i) => d !== raw.shape[i])) {
    throw new SslError(`${path}: size mismatch for ${name}: the file has shape [${raw.shape.join(', ')}], the model has [${want.join(', ')}] (PyTorch layout)`, {
      code: 'STATE_DICT_MISMATCH',
    });
  }
  const t = tensorFromRaw(raw);
  if (target.layout === 'same') return t;
  const out = fromTorch(t, target.layout);
  t.dispose();
  return out;
}

/** A meta value a `.pth` can carry through torch 1.13's weights_only reader: str, int, bool (floats are not read there). */
export function pythonMeta(meta: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) {
    if (k === 'optimizer' || k === 'state_dict_aliases' || k === 'layout') continue;
    if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isSafeInteger(v))) out[k] = v;
    else if (k === 'config' && v !== undefined) out[k] = JSON.stringify(v);
  }
  return out;
}

