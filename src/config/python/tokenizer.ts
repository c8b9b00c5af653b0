import { ConfigError } from '../../errors.js';

/** Kinds of Python tokens the config subset is made of (comments are dropped). */
export type TokenKind = 'name' | 'number' | 'string' | 'op' | 'newline' | 'indent' | 'dedent' | 'eof';

/**
 * One token. `line`/`col` are 1-based and point at its first character.
 * For strings, `value` is the decoded text (escapes applied); for everything else the source text.
 */
export interface Token {
  kind: TokenKind;
  value: string;
  line: number;
  col: number;
}

/** Where something is in a file, for errors: `configs/x.py:12:9`. */
export interface Position {
  line: number;
  col: number;
}

export function syntaxError(what: string, filename: string, at: Position, code = 'PY_SYNTAX'): ConfigError {
  return new ConfigError(`${what} at ${filename}:${at.line}:${at.col}`, { code });
}

// Longest first, so `**` wins over `*` and `//=` over `//`.
const OPERATORS = [
  '**=', '//=', '>>=', '<<=', '...', '->', ':=',
  '**', '//', '==', '!=', '<=', '>=', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '@=', '<<', '>>',
  '+', '-', '*', '/', '%', '@', '<', '>', '=', '.', ',', ':', ';', '(', ')', '[', ']', '{', '}', '~', '&', '|', '^',
];
const OPEN: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
const NAME_START = /[A-Za-z_\u00C0-\uFFFF]/;
const NAME_PART = /[\w\u00C0-\uFFFF]/;
const NUMBER = /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:\d(?:_?\d)*\.?(?:\d(?:_?\d)*)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?[jJ]?)/;

/**
 * Splits Python source into tokens as CPython's tokenizer does for the subset:
 * INDENT/DEDENT from leading whitespace, NEWLINE only outside brackets (implicit
 * line joining), `\` continuation lines, comments and blank lines skipped.
 * @throws ConfigError on an unclosed bracket or string, a mismatched bracket, inconsistent dedent, a stray character.
 */
export function tokenize(source: string, filename: string): Token[] {
  const text = source.replace(/\r\n?/g, '\n').replace(/^\uFEFF/, '');
  const tokens: Token[] = [];
  const indents = [0];
  const brackets: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  let atLineStart = true;
  const pos = (at: number): Position => ({ line, col: at - lineStart + 1 });
  const push = (kind: TokenKind, value: string, at: number): void => {
    tokens.push({ kind, value, ...pos(at) });
  };

  while (i < text.length) {
    if (atLineStart && brackets.length === 0) {
      // Measure indentation; blank and comment-only lines do not count.
      let j = i;
      let width = 0;
      while (text[j] === ' ' || text[j] === '\t' || text[j] === '\f') {
        width = text[j] === '\t' ? (Math.floor(width / 8) + 1) * 8 : text[j] === ' ' ? width + 1 : 0;
        j++;
      }
      if (j >= text.length || text[j] === '\n' || text[j] === '#' || (text[j] === '\\' && text[j + 1] === '\n')) {
        while (j < text.length && text[j] !== '\n') j++;
        i = j;
        if (text[i] === '\n') {
          i++;
          line++;
          lineStart = i;
        }
        continue;
      }
      atLineStart = false;
      const current = indents[indents.length - 1]!;
      if (width > current) {
        indents.push(width);
        push('indent', '', j);
      } else if (width < current) {
        while (width < indents[indents.length - 1]!) {
          indents.pop();
          push('dedent', '', j);
        }
        if (width !== indents[indents.length - 1]) {
          throw syntaxError('bad indentation: this line dedents to a column that matches no enclosing block', filename, pos(j), 'PY_INDENT');
        }
      }
      i = j;
    }

    const c = text[i]!;
    if (c === '\n') {
      if (brackets.length === 0) {
        push('newline', '', i);
        atLineStart = true;
      }
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\f') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '\\') {
      if (text[i + 1] !== '\n') throw syntaxError('unexpected character "\\" after line continuation', filename, pos(i));
      i += 2;
      line++;
      lineStart = i;
      continue;
    }

    const start = i;
    const startPos = pos(i);
    const stringAt = stringStart(text, i);
    if (stringAt !== undefined) {
      const { prefix, quoteAt } = stringAt;
      const lower = prefix.toLowerCase();
      if (lower.includes('f')) throw syntaxError('unsupported syntax: f-string', filename, startPos, 'PY_UNSUPPORTED');
      if (lower.includes('b')) throw syntaxError('unsupported syntax: bytes literal', filename, startPos, 'PY_UNSUPPORTED');
      const quote = text.startsWith(text[quoteAt]!.repeat(3), quoteAt) ? text[quoteAt]!.repeat(3) : text[quoteAt]!;
      let j = quoteAt + quote.length;
      let raw = '';
      for (;;) {
        if (j >= text.length || (quote.length === 1 && text[j] === '\n')) {
          throw syntaxError('unterminated string literal', filename, startPos);
        }
        if (text.startsWith(quote, j)) break;
        if (text[j] === '\\' && j + 1 < text.length) {
          raw += text.slice(j, j + 2);
          if (text[j + 1] === '\n') {
            line++;
            lineStart = j + 2;
          }
          j += 2;
          continue;
        }
        if (text[j] === '\n') {
          line++;
          lineStart = j + 1;
        }
        raw += text[j];
        j++;
      }
      const value = lower.includes('r') ? raw : decodeEscapes(raw, filename, startPos);
      tokens.push({ kind: 'string', value, ...startPos });
      i = j + quote.length;
      continue;
    }
    if (/\d/.test(c) || (c === '.' && /\d/.test(text[i + 1] ?? ''))) {
      const m = NUMBER.exec(text.slice(i, i + 400));
      const literal = m![0];
      const next = text[i + literal.length] ?? '';
      const leadingZero = /^0[\d_]*$/.test(literal) && /[1-9]/.test(literal); // `007` is not Python 3
      if (NAME_PART.test(next) || leadingZero) {
        throw syntaxError(`invalid number literal "${literal}${next}"`, filename, startPos);
      }
      push('number', literal, i);
      i += literal.length;
      continue;
    }
    if (NAME_START.test(c)) {
      let j = i + 1;
      while (j < text.length && NAME_PART.test(text[j]!)) j++;
      push('name', text.slice(i, j), i);
      i = j;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (op === undefined) throw syntaxError(`invalid character "${c}"`, filename, startPos);
    if (op in OPEN) brackets.push({ kind: 'op', value: op, ...startPos });
    else if (op === ')' || op === ']' || op === '}') {
      const open = brackets.pop();
      if (open === undefined) throw syntaxError(`unmatched "${op}"`, filename, startPos);
      if (OPEN[open.value] !== op) {
        throw syntaxError(`closing "${op}" does not match "${open.value}" opened at line ${open.line}:${open.col}`, filename, startPos);
      }
    }
    push('op', op, start);
    i += op.length;
  }
  if (brackets.length > 0) {
    const open = brackets[brackets.length - 1]!;
    throw syntaxError(`"${open.value}" was never closed`, filename, open);
  }
  const end = pos(i);
  if (!atLineStart) tokens.push({ kind: 'newline', value: '', ...end });
  while (indents.length > 1) {
    indents.pop();
    tokens.push({ kind: 'dedent', value: '', ...end });
  }
  tokens.push({ kind: 'eof', value: '', ...end });
  return tokens;
}

/** A string literal starts here (with an optional r/u/b/f prefix): where its quote is. */
function stringStart(text: string, i: number): { prefix: string; quoteAt: number } | undefined {
  const m = /^([rRuUbBfF]{0,2})['"]/.exec(text.slice(i, i + 3));
  if (!m) return undefined;
  if (i > 0 && NAME_PART.test(text[i - 1]!)) return undefined;
  const prefix = m[1]!;
  if (prefix.length === 2 && !/^(rb|br|rf|fr)$/i.test(prefix)) return undefined;
  return { prefix, quoteAt: i + prefix.length };
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\n': '', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
};

/** Applies Python's string escapes; an unknown escape keeps its backslash, as Python does. */
export function decodeEscapes(raw: string, filename: string, at: Position): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = raw[i + 1]!;
    i++;
    if (e in SIMPLE_ESCAPES) out += SIMPLE_ESCAPES[e];
    else if (/[0-7]/.test(e)) {
      const digits = /^[0-7]{1,3}/.exec(raw.slice(i))![0];
      out += String.fromCodePoint(parseInt(digits, 8));
      i += digits.length - 1;
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = raw.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) throw syntaxError(`truncated \\${e} escape in string`, filename, at);
      const code = parseInt(hex, 16);
      if (code > 0x10ffff) throw syntaxError(`illegal Unicode character \\${e}${hex} in string`, filename, at);
      out += String.fromCodePoint(code);
      i += n;
    } else if (e === 'N') {
      throw syntaxError('unsupported syntax: \\N{...} escape in string', filename, at, 'PY_UNSUPPORTED');
    } else out += `\\${e}`;
  }
  return out;
}
