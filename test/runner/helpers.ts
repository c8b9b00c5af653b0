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
export async function quiet<T>(f: () => Promise<T>): Promise<T> {
  const write = process.stdout.write.bind(process.stdout);
  (process.stdout as { write: unknown }).write = () => true;
  try {
    return await f();
  } finally {
    (process.stdout as { write: unknown }).write = write;
  }
}
