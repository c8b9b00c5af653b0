import { Command, Flags, Interfaces } from '@oclif/core';
import { isSslError } from '../errors.js';

/**
 * Base of every `ssl` command: a `--debug` flag, and errors the user can act on
 * printed as one line with exit code 2 (no stack trace unless --debug).
 */
export abstract class SslCommand extends Command {
  static override baseFlags = {
    debug: Flags.boolean({ description: 'Print stack traces of errors', default: false, helpGroup: 'GLOBAL' }),
  };

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    const debug = process.argv.includes('--debug') || Boolean(process.env.DEBUG);
    if (isSslError(err)) {
      if (debug) process.stderr.write(`${err.stack}\n`);
      const hint = err.suggestions.length > 0 && !err.message.includes('did you mean') ? ` (${err.suggestions.join(', ')})` : '';
      this.logToStderr(`Error: ${err.message}${hint}`);
      return this.exit(err.exitCode);
    }
    return super.catch(err);
  }
}

export type SslFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof SslCommand)['baseFlags'] & T['flags']>;
