/**
 * `--resume-from X.pth`: an MMSelfSup (mmcv) checkpoint `{meta, state_dict, optimizer}` into an ssl
 * model and optimizer, strictly (every model tensor must be in the file, nothing else may be).
 * PyTorch's optimizer state names parameters by their index in `model.parameters()` order, which is
 * the order of the parameters in the state dict (buffers skipped, shared ones once); slots
 * (`momentum_buffer`, `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`) have ssl's names already and take
 * their parameter's layout. Hyper-parameters of each ssl group come from the PyTorch group that holds
 * its first parameter.
 */
import { SslError } from '../errors.js';
import type { Tensor } from '../engine/tf.js';
import { tensorFromRaw } from '../engine/safetensors.js';
import { isPthTensor } from '../engine/pth/read-pth.js';
import { PyDict } from '../engine/pth/unpickler.js';
import { layoutsOf, type LoadedCheckpoint } from './checkpoint.js';
import type { Optimizer, OptimizerState } from './optim/optimizer.js';
import { readTorchCheckpoint, toModelTensor, type TensorTarget } from '../engine/pth/checkpoint-file.js';
import type { TrainableModel } from '../models/contracts.js';

type Model = TrainableModel & { stateDictAliases?: () => Record<string, string> };

export function preview(names: string[]): string {
  return names.length <= 10 ? names.join(', ') : `${names.slice(0, 10).join(', ')} (${names.length} in all)`;
}

/** The model-name of a file name, through the model's second names (`backbone.` -> `encoder_q.0.`). */
export function aliasResolver(model: Model): (n: string) => string {
  const aliases = Object.entries(model.stateDictAliases?.() ?? {});
  return (n) => {
    for (const [alias, target] of aliases) if (n.startsWith(`${alias}.`)) return `${target}${n.slice(alias.length)}`;
    return n;
  };
}

/** @param what the setting that named the file (`--resume-from`, `resume_from`), for messages. */
export async function readTorchResume(path: string, model: Model, optimizer: Optimizer, what = '--resume-from'): Promise<LoadedCheckpoint> {
  let ck;
  try {
    ck = await readTorchCheckpoint(path);
  } catch (e) {
    throw e instanceof SslError ? new SslError(`${what}: ${e.message}`, { code: e.code }) : e;
  }
  if (!ck.hasMeta) {
    throw new SslError(`${what}: ${path} has no training state ("meta"): it is a state dict of weights; use --load-from for it`, { code: 'CORRUPT_CHECKPOINT' });
  }
  const resolve = aliasResolver(model);
  const layouts = layoutsOf(model);
  const targets = new Map<string, TensorTarget>();
  for (const [n, t] of model.stateDict()) targets.set(n, { layout: layouts.get(n) ?? 'same', shape: t.shape });
  const unexpected = [...ck.state.keys()].filter((n) => !targets.has(resolve(n)));
  const fileTargets = new Set([...ck.state.keys()].map(resolve));
  const missing = [...targets.keys()].filter((n) => !fileTargets.has(n));
  if (missing.length > 0 || unexpected.length > 0) {
    const parts = [];
    if (missing.length > 0) parts.push(`missing keys: ${preview(missing)}`);
    if (unexpected.length > 0) parts.push(`unexpected keys: ${preview(unexpected)}`);
    throw new SslError(`${what}: ${path} does not fit the model (${parts.join('; ')}); use --load-from to start from its weights`, { code: 'CHECKPOINT_MISMATCH' });
  }
  const stateDict = new Map<string, Tensor>();
  const optTensors = new Map<string, Tensor>();
  const dispose = () => {
    for (const t of stateDict.values()) t.dispose();
    for (const t of optTensors.values()) t.dispose();
  };
  try {
    for (const [n, raw] of ck.state) stateDict.set(resolve(n), toModelTensor(n, raw, targets.get(resolve(n))!, `${what}: ${path}`));
    let optState: OptimizerState | undefined;
    if (ck.optimizer) {
      // PyTorch's parameter order: the state dict's order, parameters only
      const params = new Set(model.namedParameters().map(([n]) => n));
      const order = [...ck.state.keys()].map(resolve).filter((n) => params.has(n));
      optState = convertOptimizer(ck.optimizer, order, optimizer, targets, optTensors, path, what);
    }
    return { meta: ck.meta, stateDict, optimizer: optState, dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}

function convertOptimizer(
  saved: PyDict,
  order: string[],
  optimizer: Optimizer,
  targets: Map<string, TensorTarget>,
  tensors: Map<string, Tensor>,
  path: string,
  what: string,
): OptimizerState {
  const fail = (m: string): never => {
    throw new SslError(`${what}: ${path}: optimizer ${m}`, { code: 'CHECKPOINT_MISMATCH' });
  };
  const groups = saved.get('param_groups');
  const state = saved.get('state');
  if (!Array.isArray(groups) || !(state instanceof PyDict)) fail("state has no 'state'/'param_groups' (not a torch.optim state_dict)");
  const groupOf = new Map<string, PyDict>();
  for (const g of groups as unknown[]) {
    if (!(g instanceof PyDict) || !Array.isArray(g.get('params'))) fail('param group without params');
    for (const i of (g as PyDict).get('params') as unknown[]) {
      if (typeof i !== 'number' || i < 0 || i >= order.length) fail(`names parameter ${String(i)}, the model has ${order.length}`);
      groupOf.set(order[i as number], g as PyDict);
    }
  }
  const steps: Record<string, number> = {};
  for (const [i, slots] of state as PyDict) {
    if (typeof i !== 'number' || i < 0 || i >= order.length) fail(`has state for parameter ${String(i)}, the model has ${order.length}`);
    const name = order[i as number];
    if (!(slots instanceof PyDict)) fail(`state of ${name} is not a dict`);
    for (const [slot, v] of slots as PyDict) {
      if (slot === 'step') {
        if (isPthTensor(v)) {
          const t = tensorFromRaw(v);
          steps[name] = Number(t.dataSync()[0]);
          t.dispose();
        } else steps[name] = Number(v);
      } else if (isPthTensor(v)) {
        tensors.set(`${name}.${String(slot)}`, toModelTensor(`optimizer state ${name}.${String(slot)}`, v, targets.get(name)!, path));
      }
    }
  }
  const hyperKeys = ['lr', 'momentum', 'weight_decay', 'initial_lr', 'nesterov', 'dampening', 'betas', 'eps', 'amsgrad', 'eta', 'lars_exclude'];
  const param_groups = optimizer.paramGroups.map(({ params, ...mine }) => {
    const src = groupOf.get(params[0]?.name ?? '');
    if (params.length > 0 && !src) fail(`holds no group for ${params[0].name}`);
    const hyper: Record<string, unknown> = { ...mine };
    for (const k of hyperKeys) {
      const v = src?.get(k);
      if (k in mine && (typeof v === 'number' || typeof v === 'boolean')) hyper[k] = v;
      else if (k in mine && Array.isArray(v)) hyper[k] = [...v];
    }
    return { ...hyper, params: params.map((p) => p.name) };
  });
  return { tensors, meta: { type: optimizer.type, param_groups, steps } };
}
