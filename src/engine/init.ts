/**
 * Parameter initialisers with PyTorch's semantics (torch.nn.init), computed from the engine's
 * seeded generator (random.ts) so a seed gives the same weights on every backend.
 * Shapes are TF.js layouts; `layout` says how to find fan-in/fan-out (HWIO conv, in×out linear).
 */
import type { TorchLayout } from './module.js';
import { normalArray, truncNormalArray, uniformArray } from './random.js';
import { tf, type Tensor, type Variable } from './tf.js';

export type FanMode = 'fan_in' | 'fan_out';
export type Nonlinearity = 'relu' | 'leaky_relu' | 'linear' | 'tanh' | 'sigmoid';

/** PyTorch's `_calculate_fan_in_and_fan_out` for a TF.js-layout shape. */
export function fans(shape: readonly number[], layout: TorchLayout): { fanIn: number; fanOut: number } {
  if (layout === 'conv') {
    const [kh, kw, cin, cout] = shape;
    return { fanIn: kh * kw * cin, fanOut: kh * kw * cout };
  }
  if (layout === 'linear') return { fanIn: shape[0], fanOut: shape[1] };
  // PyTorch layout already (dim 1 = in, dim 0 = out, rest = receptive field).
  if (shape.length < 2) throw new Error(`fan in and fan out need at least 2 dimensions, got [${shape.join(', ')}]`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/** torch.nn.init.calculate_gain. */
export function gain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'tanh':
      return 5 / 3;
    default:
      return 1;
  }
}

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function constant(shape: readonly number[], value: number): Tensor {
  return tf.fill([...shape], value);
}

export function uniform(shape: readonly number[], low: number, high: number): Tensor {
  return tf.tensor(uniformArray(count(shape), low, high), [...shape]);
}

export function normal(shape: readonly number[], mean = 0, std = 1): Tensor {
  return tf.tensor(normalArray(count(shape), mean, std), [...shape]);
}

/** torch.nn.init.trunc_normal_: N(mean, std²) restricted to [a, b] (absolute bounds, default ±2). */
export function truncNormal(shape: readonly number[], mean = 0, std = 1, a = -2, b = 2): Tensor {
  return tf.tensor(truncNormalArray(count(shape), mean, std, a, b), [...shape]);
}

export interface KaimingOptions {
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

/** torch.nn.init.kaiming_normal_ (defaults as PyTorch: a=0, fan_in, leaky_relu). */
export function kaimingNormal(shape: readonly number[], layout: TorchLayout, o: KaimingOptions = {}): Tensor {
  const std = kaimingStd(shape, layout, o);
  return normal(shape, 0, std);
}

/** torch.nn.init.kaiming_uniform_. */
export function kaimingUniform(shape: readonly number[], layout: TorchLayout, o: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(shape, layout, o);
  return uniform(shape, -bound, bound);
}

/** torch.nn.init.xavier_uniform_. */
export function xavierUniform(shape: readonly number[], layout: TorchLayout, g = 1): Tensor {
  const { fanIn, fanOut } = fans(shape, layout);
  const bound = g * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(shape, -bound, bound);
}

/**
 * PyTorch's default init of Conv/Linear weights (kaiming_uniform_ with a=√5 = U(±1/√fan_in)),
 * and of their biases (U(±1/√fan_in)).
 */
export function torchDefaultWeight(shape: readonly number[], layout: TorchLayout): Tensor {
  return kaimingUniform(shape, layout, { a: Math.sqrt(5) });
}

export function torchDefaultBias(n: number, fanIn: number): Tensor {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return uniform([n], -bound, bound);
}

/** Overwrites a parameter in place with a freshly initialised tensor (disposes it after). */
export function assignInit(variable: Variable, value: Tensor): void {
  variable.assign(value);
  value.dispose();
}

function kaimingStd(shape: readonly number[], layout: TorchLayout, o: KaimingOptions): number {
  const { fanIn, fanOut } = fans(shape, layout);
  const fan = (o.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut;
  return gain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0) / Math.sqrt(fan);
}
