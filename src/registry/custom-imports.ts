import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RegistryError } from '../errors.js';
import type { Registry } from './registry.js';

/** The registries a user's module may add components to, by category (`backbones`, `necks`, ...). */
export type Registries = Record<string, Registry<unknown>>;

export interface CustomImports {
  imports?: string[] | string;
  allow_failed_imports?: boolean;
}

export interface CustomImportResult {
  loaded: string[];
  warnings: string[];
}

/**
 * Loads `custom_imports: {imports: [...], allow_failed_imports}` (MMSelfSup's way to register a
 * user's components). Each entry is a JS/TS module path (relative to the config's directory or
 * the working directory) or a package name; it must export `register(registries)`.
 * Python module names (`mmcls.models`) cannot load here: they give a warning, not an error.
 * `api` (the base classes a component extends) is passed as register's second argument. A module
 * registers once per process (ES modules are cached; a second load of the same file is a no-op).
 */
export async function loadCustomImports(spec: CustomImports | undefined, registries: Registries, configDir: string, api?: unknown): Promise<CustomImportResult> {
  const result: CustomImportResult = { loaded: [], warnings: [] };
  if (!spec) return result;
  const imports = typeof spec.imports === 'string' ? [spec.imports] : (spec.imports ?? []);
  for (const name of imports) {
    const target = locate(name, configDir);
    if (target === undefined) {
      if (/^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)+$/.test(name)) {
        result.warnings.push(`custom_imports: "${name}" is a Python module and cannot be loaded by ssl; components it registers must be available in ssl`);
        continue;
      }
      const message = `custom_imports: cannot find module "${name}" (looked relative to ${configDir}, the working directory and node_modules)`;
      if (spec.allow_failed_imports) result.warnings.push(message);
      else throw new RegistryError(`${message}; fix the path or set allow_failed_imports: true`);
      continue;
    }
    if (registered.has(target)) {
      result.loaded.push(name);
      continue;
    }
    type Register = (r: Registries, api?: unknown) => void;
    let mod: { register?: Register; default?: { register?: Register } };
    try {
      mod = (await import(target)) as typeof mod;
    } catch (e) {
      const message = `custom_imports: cannot import "${name}" (${firstLine(e)})`;
      if (spec.allow_failed_imports) {
        result.warnings.push(message);
        continue;
      }
      throw new RegistryError(message);
    }
    const register = mod.register ?? mod.default?.register;
    if (typeof register !== 'function') {
      throw new RegistryError(`custom_imports: "${name}" must export a function register(registries, api) that adds its components`);
    }
    try {
      register(registries, api);
    } catch (e) {
      throw new RegistryError(`custom_imports: register() of "${name}" failed: ${firstLine(e)}`);
    }
    registered.add(target);
    result.loaded.push(name);
  }
  return result;
}

/** Module URLs whose register() already ran in this process. */
const registered = new Set<string>();

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

function locate(name: string, configDir: string): string | undefined {
  const candidates = isAbsolute(name) ? [name] : [resolve(configDir, name), resolve(name)];
  for (const c of candidates) if (existsSync(c)) return pathToFileURL(c).href;
  try {
    return pathToFileURL(createRequire(resolve(configDir, 'noop.js')).resolve(name)).href;
  } catch {
    return undefined;
  }
}
