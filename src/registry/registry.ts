import { closest, distance } from 'fastest-levenshtein';
import { RegistryError } from '../errors.js';
import { resolveArgs, type ComponentEntry } from './component.js';

/** A component config: a `type` name plus that component's arguments. */
export interface ComponentConfig {
  type: string;
  [key: string]: unknown;
}

/** Builds a component from its arguments (everything in the config except `type`). */
export type Builder<T> = (args: Record<string, unknown>, context?: unknown) => T;

/**
 * A registry of components keyed by MMSelfSup's type names (`'SimCLR'`, `'ResNet'`, ...).
 * Filled explicitly: each component file defines its entry (`defineComponent`) and the category's index.ts
 * lists the entries (`addAll`), never by import side effects.
 */
export class Registry<T = unknown> {
  private readonly builders = new Map<string, Builder<T>>();

  constructor(readonly name: string) {}

  register(typeName: string, builder: Builder<T>, options: { force?: boolean } = {}): void {
    if (this.builders.has(typeName) && !options.force) {
      throw new RegistryError(`${typeName} is already registered in the ${this.name} registry; pass force to replace it`);
    }
    this.builders.set(typeName, builder);
  }

  /** Registers a component file's entry; arguments are checked and defaulted when the entry declares them. */
  add(entry: ComponentEntry<T, any>): void {
    const { type, args } = entry;
    this.register(type, args ? (given, ctx) => entry.build(resolveArgs(type, args, given) as never, ctx) : (given, ctx) => entry.build(given as never, ctx));
  }

  addAll(entries: readonly ComponentEntry<T, any>[]): this {
    for (const e of entries) this.add(e);
    return this;
  }

  has(typeName: string): boolean {
    return this.builders.has(typeName);
  }

  names(): string[] {
    return [...this.builders.keys()].sort();
  }

  get(typeName: string): Builder<T> {
    const builder = this.builders.get(typeName);
    if (!builder) throw this.unknownType(typeName);
    return builder;
  }

  build(cfg: ComponentConfig | Record<string, unknown>, context?: unknown): T {
    if (cfg === null || typeof cfg !== 'object' || typeof (cfg as ComponentConfig).type !== 'string') {
      throw new RegistryError(`a ${this.name} config needs a string "type", got ${JSON.stringify(cfg)}`);
    }
    const { type, ...args } = cfg as ComponentConfig;
    return this.get(type)(args, context);
  }

  /** The error for an unknown type, listing the closest registered names. */
  unknownType(typeName: string): RegistryError {
    const suggestions = closestNames(typeName, this.names());
    const hint = suggestions.length > 0 ? `; did you mean ${suggestions.join(', ')}?` : '';
    return new RegistryError(`unknown ${this.name} type "${typeName}"${hint}`, { code: 'UNKNOWN_TYPE', suggestions });
  }
}

/** Up to three registered names nearest to `name` (edit distance, case-insensitive), nearest first. */
export function closestNames(name: string, candidates: string[], max = 3): string[] {
  if (candidates.length === 0) return [];
  const lower = name.toLowerCase();
  const scored = candidates
    .map((c) => ({ c, d: distance(lower, c.toLowerCase()) }))
    .filter(({ c, d }) => d <= Math.max(3, Math.ceil(c.length / 2)) || c.toLowerCase().includes(lower) || lower.includes(c.toLowerCase()))
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c));
  const out = scored.slice(0, max).map(({ c }) => c);
  if (out.length === 0) out.push(closest(name, candidates));
  return out;
}

/**
 * Rejects arguments a component does not accept, naming the key and the type
 * (MMSelfSup's **kwargs swallow typos; ssl does not).
 */
export function checkArgs(typeName: string, args: Record<string, unknown>, accepted: readonly string[]): void {
  for (const key of Object.keys(args)) {
    if (!accepted.includes(key)) {
      const near = closestNames(key, [...accepted], 2);
      const hint = near.length > 0 ? `; did you mean ${near.join(' or ')}?` : '';
      throw new RegistryError(`${typeName} does not accept the argument "${key}"${hint}`, { code: 'UNKNOWN_ARGUMENT', suggestions: near });
    }
  }
}
