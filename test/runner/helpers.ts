import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';

export const TINY_SIMCLR = 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml';

/** A fresh temp dir. */
export function tempDir(prefix = 'ssl-trainer-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Loads a config, applies a mutation, writes it as resolved JSON into `dir`; returns the path. */
export function writeConfig(dir: string, base: string, mutate: (cfg: Record<string, any>) => void = () => {}, name = 'cfg.json'): string {
  const cfg = loadConfig(base) as Record<string, any>;
  mutate(cfg);
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(cfg));
  return path;
}

/** Silences stdout writes while `f` runs (the worker logs a lot). */
/** Runs `f` with stdout captured: its result and what it printed (errors before a run starts are only printed). */
export async function captured<T>(f: () => Promise<T>): Promise<{ result: T; out: string }> {
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  (process.stdout as { write: unknown }).write = (chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  };
  try {
    return { result: await f(), out };
  } finally {
    (process.stdout as { write: unknown }).write = write;
  }
}

export async function quiet<T>(f: () => Promise<T>): Promise<T> {
  const write = process.stdout.write.bind(process.stdout);
  (process.stdout as { write: unknown }).write = () => true;
  try {
    return await f();
  } finally {
    (process.stdout as { write: unknown }).write = write;
  }
}
