import { ConfigError } from '../errors.js';
import { checkArgs } from './registry.js';

/** Default of an argument the config must give (MMSelfSup's required constructor arguments). */
export const REQUIRED: unique symbol = Symbol('required');

/** Accepted arguments of a component with their defaults (`undefined`: optional, no default). */
export type ArgSpec = Record<string, unknown>;

/** The arguments a builder receives: every accepted key, defaults filled in. */
export type ResolvedArgs<S extends ArgSpec> = { [K in keyof S]: S[K] extends typeof REQUIRED ? Record<string, unknown> : S[K] };

/**
 * A registry entry owned by the component's file: its MMSelfSup type name, how it is built and,
 * when `args` is given, the accepted arguments with their defaults (checked before `build` runs;
 * without `args` the component's constructor checks its own).
 */
export interface ComponentEntry<T, S extends ArgSpec = ArgSpec> {
  readonly type: string;
  readonly args?: S;
  build(args: ResolvedArgs<S>, context?: unknown): T;
}

/** Declares a component entry (types the builder's arguments from `args`). */
export function defineComponent<T, S extends ArgSpec>(entry: { type: string; args: S; build(args: ResolvedArgs<S>, context?: unknown): T }): ComponentEntry<T, S>;
export function defineComponent<T>(entry: { type: string; build(args: Record<string, unknown>, context?: unknown): T }): ComponentEntry<T>;
export function defineComponent<T>(entry: ComponentEntry<T>): ComponentEntry<T> {
  return entry;
}

/** Checks `given` against the entry's accepted arguments and fills the defaults. */
export function resolveArgs(type: string, spec: ArgSpec, given: Record<string, unknown>): Record<string, unknown> {
  checkArgs(type, given, Object.keys(spec));
  const out: Record<string, unknown> = {};
  for (const [key, dflt] of Object.entries(spec)) {
    const v = given[key];
    if (v !== undefined && v !== null) out[key] = v;
    else if (dflt === REQUIRED) throw new ConfigError(`${type} needs "${key}"`);
    else out[key] = v === null ? null : dflt;
  }
  return out;
}
