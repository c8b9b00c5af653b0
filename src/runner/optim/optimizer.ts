import { SslError } from '../../errors.js';
import { tf, type Tensor, type Variable } from '../../engine/tf.js';

/** A named trainable parameter (name = PyTorch state-dict name). */
export interface Param {
  name: string;
  variable: Variable;
}

/**
 * A parameter group with its hyper-parameters, as a PyTorch `param_group` dict (same key names,
 * so hooks and `paramwise_options` address them the way MMSelfSup configs do).
 */
export interface ParamGroup {
  params: Param[];
  lr: number;
  weight_decay: number;
  momentum?: number;
  betas?: [number, number];
  initial_lr?: number;
  initial_momentum?: number;
  [key: string]: unknown;
}

/** Serializable optimizer state: tensors per `<param name>.<slot>`, plus JSON hyper-parameters. */
export interface OptimizerState {
  tensors: Map<string, Tensor>;
  meta: { type: string; param_groups: Record<string, unknown>[]; steps: Record<string, number> };
}

/**
 * Base of the optimizers: PyTorch update rules written on `tf.Variable`s (TensorFlow.js optimizers
 * have no weight decay). `step(grads)` updates every parameter that has a gradient, in group order.
 */
export abstract class Optimizer {
  abstract readonly type: string;
  /** Per-parameter slots (momentum buffers, Adam moments), kept outside tidy scopes. */
  protected readonly slots = new Map<string, Map<string, Tensor>>();
  /** Per-parameter step counts (Adam bias correction). */
  protected readonly steps = new Map<string, number>();

  constructor(public paramGroups: ParamGroup[]) {}

  /** Applies one update. `grads` maps parameter names to gradients; the caller disposes them. */
  step(grads: Map<string, Tensor>): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        const grad = grads.get(p.name);
        if (!grad) continue;
        tf.tidy(() => {
          const next = this.update(p, grad, group);
          p.variable.assign(next);
        });
      }
    }
  }

  /** Returns the new value of `p` (inside a tidy scope); sets slots with `setSlot`. */
  protected abstract update(p: Param, grad: Tensor, group: ParamGroup): Tensor;

  protected getSlot(name: string, slot: string): Tensor | undefined {
    return this.slots.get(name)?.get(slot);
  }

  protected setSlot(name: string, slot: string, value: Tensor): void {
    let m = this.slots.get(name);
    if (!m) this.slots.set(name, (m = new Map()));
    const old = m.get(slot);
    m.set(slot, tf.keep(value));
    if (old && old !== value) old.dispose();
  }

  /** All parameters, in group order. */
  params(): Param[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /** State for a checkpoint (tensors are the live slots; do not dispose). */
  stateDict(): OptimizerState {
    const tensors = new Map<string, Tensor>();
    for (const [name, m] of this.slots) for (const [slot, t] of m) tensors.set(`${name}.${slot}`, t);
    const param_groups = this.paramGroups.map(({ params, ...hyper }) => ({ ...hyper, params: params.map((p) => p.name) }));
    return { tensors, meta: { type: this.type, param_groups, steps: Object.fromEntries(this.steps) } };
  }

  /** Restores slots and hyper-parameters saved by `stateDict` (groups must match by parameter names). */
  loadStateDict(state: OptimizerState): void {
    if (state.meta.type !== this.type) {
      throw new SslError(`the checkpoint's optimizer is ${state.meta.type}, the config's is ${this.type}; use --load-from to start a new optimizer`);
    }
    if (state.meta.param_groups.length !== this.paramGroups.length) {
      throw new SslError(`the checkpoint's optimizer has ${state.meta.param_groups.length} param groups, the config gives ${this.paramGroups.length}`);
    }
    state.meta.param_groups.forEach((saved, i) => {
      const names = saved.params as string[];
      const group = this.paramGroups[i];
      if (names.length !== group.params.length || names.some((n, j) => n !== group.params[j].name)) {
        throw new SslError(`the checkpoint's optimizer param group ${i} holds other parameters than the model's (first: ${names[0]} vs ${group.params[0]?.name})`);
      }
      const { params: _p, ...hyper } = saved;
      Object.assign(group, hyper);
    });
    const known = new Set(this.params().map((p) => p.name));
    for (const [key, t] of state.tensors) {
      const dot = key.lastIndexOf('.');
      const name = key.slice(0, dot);
      if (!known.has(name)) throw new SslError(`the checkpoint's optimizer has state for "${name}", which the model does not train`);
      this.setSlot(name, key.slice(dot + 1), tf.clone(t));
    }
    this.steps.clear();
    for (const [n, s] of Object.entries(state.meta.steps ?? {})) this.steps.set(n, s);
  }

  /** Frees the slot tensors. */
  dispose(): void {
    for (const m of this.slots.values()) for (const t of m.values()) t.dispose();
    this.slots.clear();
  }
}

/** Number of hyper-parameter `key` of `group` (throws a readable error if it is missing). */
export function hyper(group: ParamGroup, key: string, fallback?: number): number {
  const v = group[key];
  if (typeof v === 'number') return v;
  if (fallback !== undefined) return fallback;
  throw new SslError(`optimizer param group is missing "${key}"`);
}
