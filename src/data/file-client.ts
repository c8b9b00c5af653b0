import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';

/**
 * Byte access by path (mmcv `FileClient`): the seam that lets data live on disk or in object
 * storage. A backend is chosen by `file_client_args.backend` or by the path's scheme (`s3://`).
 */
export interface FileBackend {
  /** The whole file. Throws (ENOENT-like) when it does not exist. */
  get(path: string): Promise<Uint8Array>;
  /** Text of a file (annotation lists). */
  getText(path: string): Promise<string>;
  /** Entries of a directory: names, with `dir` for sub-directories. */
  list(path: string): Promise<{ name: string; dir: boolean }[]>;
  /** Joins path parts the backend's way. */
  join(...parts: string[]): string;
}

/** Local disk. */
export const diskBackend: FileBackend = {
  async get(path) {
    return new Uint8Array(await readFile(path));
  },
  async getText(path) {
    return readFile(path, 'utf8');
  },
  async list(path) {
    const entries = await readdir(path, { withFileTypes: true });
    const out: { name: string; dir: boolean }[] = [];
    for (const e of entries) {
      let dir = e.isDirectory();
      if (e.isSymbolicLink()) dir = (await stat(join(path, e.name))).isDirectory();
      out.push({ name: e.name, dir });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  },
  join: (...parts) => join(...parts),
};

type BackendFactory = (args: Record<string, unknown>) => FileBackend | Promise<FileBackend>;

const factories = new Map<string, BackendFactory>([['disk', () => diskBackend]]);
/** Modules that register a backend when imported (re-imported by loader worker threads). */
const backendModules = new Map<string, string>();

/**
 * Registers a file backend (e.g. the S3 backend under `'s3'`). Pass `moduleUrl` (the registering
 * module's `import.meta.url`) so loader worker threads can import it and get the backend too.
 */
export function registerFileBackend(name: string, factory: BackendFactory, moduleUrl?: string): void {
  factories.set(name, factory);
  if (moduleUrl) backendModules.set(name, moduleUrl);
}

/** Module URLs that register backends (for worker threads). */
export function fileBackendModules(): string[] {
  return [...new Set(backendModules.values())];
}

/** Backends that register themselves when their module is imported (loaded on first use). */
const LAZY_BACKENDS: Record<string, string> = { s3: '../storage/s3-data-backend.js' };

/** The backend for `file_client_args` (mmcv style) or for a path's `scheme://` prefix. */
export async function fileClient(args: Record<string, unknown> | undefined, path?: string): Promise<FileBackend> {
  let name = typeof args?.backend === 'string' ? args.backend : 'disk';
  const scheme = path ? /^([a-z][a-z0-9+.-]*):\/\//i.exec(path)?.[1] : undefined;
  if (name === 'disk' && scheme && scheme !== 'file') name = scheme;
  if (!factories.has(name) && LAZY_BACKENDS[name]) await import(LAZY_BACKENDS[name]);
  const factory = factories.get(name);
  if (!factory) {
    throw new ConfigError(`no file backend "${name}" is registered (known: ${[...factories.keys()].join(', ')}); for s3:// data load the s3 storage module`);
  }
  const { backend: _backend, ...rest } = args ?? {};
  return factory(rest);
}
