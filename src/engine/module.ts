import { SslError } from '../errors.js';
import { tf, type Tensor, type Variable } from './tf.js';

/**
 * How a parameter is laid out in TensorFlow.js relative to PyTorch (see torch-layout.ts):
 * `conv` = HWIO here, OIHW in PyTorch; `linear` = in×out here, out×in in PyTorch; `same` = identical.
 */
export type TorchLayout = 'conv' | 'linear' | 'same';

interface Slot {
  variable: Variable;
  layout: TorchLayout;
}

interface BufferSlot extends Slot {
  persistent: boolean;
}

/** Options of `loadStateDict`. */
export interface LoadStateDictOptions {
  /** Throw on missing or unexpected keys (default true). Shape mismatches always throw. */
  strict?: boolean;
}

/** What `loadStateDict` did not match (both empty when strict). */
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/**
 * A PyTorch-like module: named parameters (trainable `tf.Variable`s), named buffers
 * (non-trainable `tf.Variable`s, e.g. BatchNorm running stats) and named child modules.
 * Dotted names (`layer1.0.conv1.weight`) equal PyTorch state-dict names; tensors are stored
 * in TensorFlow.js layout (NHWC activations, HWIO conv kernels, in×out dense kernels).
 *
 * Subclasses register everything in their constructor and implement `forward`.
 * Freezing = `requiresGrad(false)` (sets `trainable=false`, so `tf.variableGrads` and the
 * optimisers skip the variables); `eval()` switches BatchNorm/Dropout behaviour.
 */
export abstract class Module {
  /** Training mode (true after construction, like PyTorch). */
  training = true;
  private readonly paramSlots = new Map<string, Slot>();
  private readonly bufferSlots = new Map<string, BufferSlot>();
  private readonly children = new Map<string, Module>();

  /** Runs the module. Inputs/outputs are NHWC (images) or [N, ..., C] tensors. */
  abstract forward(...args: never[]): unknown;

  /** Registers a trainable parameter; the tensor is wrapped (not copied) into a `tf.Variable`. */
  registerParameter(name: string, value: Tensor, options: { layout?: TorchLayout; requiresGrad?: boolean } = {}): Variable {
    this.checkName(name);
    const variable = tf.variable(value, options.requiresGrad ?? true);
    value.dispose();
    this.paramSlots.set(name, { variable, layout: options.layout ?? 'same' });
    return variable;
  }

  /** Registers a buffer (state that is not trained: running stats, queues, `num_batches_tracked`). */
  registerBuffer(name: string, value: Tensor, options: { layout?: TorchLayout; persistent?: boolean } = {}): Variable {
    this.checkName(name);
    const variable = tf.variable(value, false);
    value.dispose();
    this.bufferSlots.set(name, { variable, layout: options.layout ?? 'same', persistent: options.persistent ?? true });
    return variable;
  }

  /** Registers a child module under `name` (its parameters become `name.<param>`). */
  registerModule<M extends Module>(name: string, module: M): M {
    this.checkName(name);
    this.children.set(name, module);
    return module;
  }

  /** The direct child called `name`, or undefined. */
  child(name: string): Module | undefined {
    return this.children.get(name);
  }

  /** Direct children in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.children.entries()];
  }

  /** This module and all descendants with dotted names ('' = this module, as PyTorch). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.children) out.push(...child.namedModules(join(prefix, name)));
    return out;
  }

  /** All parameters with dotted names, in registration order (PyTorch's `named_parameters`). */
  namedParameters(prefix = ''): [string, Variable][] {
    return this.namedSlots(prefix, 'param').map(([n, s]) => [n, s.variable]);
  }

  /** All parameters (trainable or frozen). */
  parameters(): Variable[] {
    return this.namedParameters().map(([, v]) => v);
  }

  /** Parameters an optimiser should update (`trainable` = not frozen). */
  trainableParameters(): Variable[] {
    return this.parameters().filter((v) => v.trainable);
  }

  /** All buffers with dotted names (persistent and not). */
  namedBuffers(prefix = ''): [string, Variable][] {
    return this.namedSlots(prefix, 'buffer').map(([n, s]) => [n, s.variable]);
  }

  /** Parameters then persistent buffers per module, as PyTorch's `state_dict()` orders them; values are the live variables. */
  stateDict(prefix = ''): Map<string, Tensor> {
    return new Map([...this.stateSlots(prefix)].map(([n, s]) => [n, s.variable as Tensor]));
  }

  /** The PyTorch layout tag of every state-dict entry (for torch-layout.ts conversions). */
  stateDictLayouts(prefix = ''): Map<string, TorchLayout> {
    return new Map([...this.stateSlots(prefix)].map(([n, s]) => [n, s.layout]));
  }

  /**
   * Copies tensors (TF.js layout) into this module's parameters and buffers.
   * @throws SslError naming the first shape mismatch (always) or missing/unexpected keys (strict).
   */
  loadStateDict(state: Map<string, Tensor> | Record<string, Tensor>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    const entries = state instanceof Map ? state : new Map(Object.entries(state));
    const own = this.stateSlots('');
    for (const [name, slot] of own) {
      const value = entries.get(name);
      if (value && !sameShape(value.shape, slot.variable.shape)) {
        throw new SslError(
          `size mismatch for ${name}: checkpoint has shape [${value.shape.join(', ')}], the model has [${slot.variable.shape.join(', ')}]`,
          { code: 'STATE_DICT_MISMATCH' },
        );
      }
    }
    const missingKeys = [...own.keys()].filter((n) => !entries.has(n));
    const unexpectedKeys = [...entries.keys()].filter((n) => !own.has(n));
    if (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0)) {
      const parts = [];
      if (missingKeys.length > 0) parts.push(`missing keys: ${preview(missingKeys)}`);
      if (unexpectedKeys.length > 0) parts.push(`unexpected keys: ${preview(unexpectedKeys)}`);
      throw new SslError(`error loading state dict (${parts.join('; ')}); pass strict=false to load the matching part`, {
        code: 'STATE_DICT_MISMATCH',
      });
    }
    for (const [name, slot] of own) {
      const value = entries.get(name);
      if (!value) continue;
      tf.tidy(() => slot.variable.assign(value.dtype === slot.variable.dtype ? value : tf.cast(value, slot.variable.dtype)));
    }
    return { missingKeys, unexpectedKeys };
  }

  /**
   * Sets training mode on this module, then calls each child's own `train(mode)` (PyTorch's
   * recursion), so a child's override (ResNet's frozen stages, norm_eval) applies whatever
   * ancestor the call starts from.
   */
  train(mode = true): this {
    this.training = mode;
    for (const child of this.children.values()) child.train(mode);
    return this;
  }

  /** Evaluation mode (BatchNorm uses running stats, Dropout/DropPath are identity). */
  eval(): this {
    return this.train(false);
  }

  /** Freezes (false) or unfreezes (true) every parameter of this module and its descendants. */
  requiresGrad(flag = true): this {
    for (const v of this.parameters()) v.trainable = flag;
    return this;
  }

  /** Number of parameter elements (trainable and frozen). */
  numParameters(): number {
    return this.parameters().reduce((n, v) => n + v.size, 0);
  }

  /** Disposes every parameter and buffer variable. */
  dispose(): void {
    for (const [, v] of this.namedParameters()) v.dispose();
    for (const [, v] of this.namedBuffers()) v.dispose();
  }

  private checkName(name: string): void {
    if (name === '' || name.includes('.')) throw new SslError(`invalid module member name "${name}" (non-empty, no dots)`);
    if (this.paramSlots.has(name) || this.bufferSlots.has(name) || this.children.has(name)) {
      throw new SslError(`"${name}" is already registered on ${this.constructor.name}`);
    }
  }

  private namedSlots(prefix: string, kind: 'param' | 'buffer'): [string, BufferSlot][] {
    const out: [string, BufferSlot][] = [];
    for (const [moduleName, m] of this.namedModules(prefix)) {
      const slots = kind === 'param' ? m.paramSlots : m.bufferSlots;
      for (const [n, s] of slots) out.push([join(moduleName, n), { persistent: true, ...s }]);
    }
    return out;
  }

  private stateSlots(prefix: string): Map<string, Slot> {
    const out = new Map<string, Slot>();
    for (const [moduleName, m] of this.namedModules(prefix)) {
      for (const [n, s] of m.paramSlots) out.set(join(moduleName, n), s);
      for (const [n, s] of m.bufferSlots) if (s.persistent) out.set(join(moduleName, n), s);
    }
    return out;
  }
}

function join(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function preview(names: string[]): string {
  return names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`;
}
