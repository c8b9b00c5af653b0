import { ConfigError } from '../../errors.js';

/** Python's round(): half to even (torchvision uses it for crop sizes). */
export function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** `size` as (h, w): an int gives (s, s); a pair is (h, w) as torchvision reads it. */
export function pairOf(type: string, name: string, v: unknown): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'number') return [v[0], v[0]];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return [v[0], v[1]];
  throw new ConfigError(`${type}: ${name} must be a number or a pair of numbers, got ${JSON.stringify(v)}`);
}

/** A probability argument in [0, 1]. */
export function probOf(type: string, v: unknown, fallback: number): number {
  const p = v === undefined ? fallback : v;
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new ConfigError(`${type}: p must be a number in [0, 1], got ${JSON.stringify(p)}`);
  return p;
}
