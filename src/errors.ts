/**
 * Errors a user can act on. Each carries a stable `code`, a one-line message
 * saying what to change, and the process exit code (2 = bad input, as oclif's CLIError).
 * Commands print only the message (no stack) unless `--debug` is given.
 */
export class SslError extends Error {
  readonly code: string;
  readonly exitCode: number;
  readonly suggestions: string[];

  constructor(message: string, options: { code?: string; exitCode?: number; suggestions?: string[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? 'SSL_ERROR';
    this.exitCode = options.exitCode ?? 2;
    this.suggestions = options.suggestions ?? [];
  }
}

/** A config file, a `_base_` chain, a reference or a `--cfg-options` item is wrong. */
export class ConfigError extends SslError {
  constructor(message: string, options: { code?: string; suggestions?: string[]; cause?: unknown } = {}) {
    super(message, { code: options.code ?? 'CONFIG_ERROR', ...options });
  }
}

/** A `type` name is not registered, or a component got an argument it does not accept. */
export class RegistryError extends SslError {
  constructor(message: string, options: { code?: string; suggestions?: string[] } = {}) {
    super(message, { code: options.code ?? 'REGISTRY_ERROR', ...options });
  }
}

/** A launcher cannot build or submit a job (missing sbatch, bad partition, unreachable API server...). */
export class LauncherError extends SslError {
  constructor(message: string, options: { code?: string; suggestions?: string[]; exitCode?: number; cause?: unknown } = {}) {
    super(message, { code: options.code ?? 'LAUNCHER_ERROR', ...options });
  }
}

export function isSslError(e: unknown): e is SslError {
  return e instanceof SslError;
}
