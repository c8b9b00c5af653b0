import type { ConfigError } from '../../errors.js';
import type { Position, Token } from './tokenizer.js';
import { syntaxError } from './tokenizer.js';

/** A cursor over tokens with the look-ahead and error helpers the parsers share. */
export class TokenStream {
  private i = 0;

  constructor(
    private readonly tokens: Token[],
    protected readonly filename: string,
  ) {}

  protected peek(ahead = 0): Token {
    return this.tokens[Math.min(this.i + ahead, this.tokens.length - 1)]!;
  }

  protected next(): Token {
    const t = this.peek();
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }

  protected isOp(value: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.value === value;
  }

  protected isName(value: string): boolean {
    const t = this.peek();
    return t.kind === 'name' && t.value === value;
  }

  protected acceptOp(value: string): boolean {
    if (!this.isOp(value)) return false;
    this.next();
    return true;
  }

  protected expectOp(value: string, why: string): void {
    if (this.acceptOp(value)) return;
    throw this.error(`expected "${value}" ${why}, found ${describe(this.peek())}`, this.peek());
  }

  protected error(what: string, at: Position, code?: string): ConfigError {
    return syntaxError(`invalid syntax: ${what}`, this.filename, at, code);
  }

  protected unsupported(what: string, at: Position): ConfigError {
    return syntaxError(`unsupported syntax: ${what}`, this.filename, at, 'PY_UNSUPPORTED');
  }
}

export function pos(t: Position): Position {
  return { line: t.line, col: t.col };
}

/** A token as an error message names it. */
export function describe(t: Token): string {
  if (t.kind === 'newline') return 'the end of the line';
  if (t.kind === 'eof') return 'the end of the file';
  if (t.kind === 'indent' || t.kind === 'dedent') return `an ${t.kind}`;
  if (t.kind === 'string') return `string ${JSON.stringify(t.value)}`;
  return `"${t.value}"`;
}
