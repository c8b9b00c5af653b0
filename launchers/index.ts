import { LauncherError } from '../src/errors.js';
import type { Launcher } from './launcher.js';

export const LAUNCHER_NAMES = ['local', 'slurm', 'k8s'] as const;
export type LauncherName = (typeof LAUNCHER_NAMES)[number];

/** Loads one launcher lazily, so a command pays only for the client library it uses. */
/** `options` are the CLI flags (kebab-case) or any subset; each launcher reads what it knows. */
export async function getLauncher(name: string, options: Record<string, unknown> = {}): Promise<Launcher> {
  switch (name) {
    case 'local':
      return (await import('./local/index.js')).createLauncher(options);
    case 'slurm':
      return (await import('./slurm/index.js')).createLauncher(options);
    case 'k8s':
      return (await import('./k8s/index.js')).createLauncher(options);
    default:
      throw new LauncherError(`unknown launcher "${name}"; use one of none, ${LAUNCHER_NAMES.join(', ')}`);
  }
}
