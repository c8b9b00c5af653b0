import type { Expr } from './ast.js';
import { pos, TokenStream } from './token-stream.js';
import type { Position } from './tokenizer.js';
import { syntaxError } from './tokenizer.js';

/** Statements Python has but the config subset does not, by leading keyword. */
export const UNSUPPORTED_STATEMENTS: Record<string, string> = {
  import: 'import statement', from: 'import statement', def: 'function definition', class: 'class definition',
  for: 'for loop', while: 'while loop', with: 'with statement', try: 'try statement', del: 'del statement',
  global: 'global statement', nonlocal: 'nonlocal statement', return: 'return statement', yield: 'yield',
  assert: 'assert statement', raise: 'raise statement', async: 'async statement', break: 'break statement',
  continue: 'continue statement', lambda: 'lambda', await: 'await',
};
const KEYWORDS = new Set([
  ...Object.keys(UNSUPPORTED_STATEMENTS), 'True', 'False', 'None', 'and', 'or', 'not', 'in', 'is', 'if', 'elif', 'else',
  'pass', 'except', 'finally', 'as',
]);
const UNSUPPORTED_OPERATORS: Record<string, string> = {
  '|': 'operator "|"', '&': 'operator "&"', '^': 'operator "^"', '<<': 'operator "<<"', '>>': 'operator ">>"',
  '~': 'operator "~"', '@': 'operator "@"', ':=': 'assignment expression (:=)', '...': 'Ellipsis', '->': 'annotation',
};
const COMPARISONS = new Set(['==', '!=', '<', '>', '<=', '>=']);

/**
 * Expressions of the subset, by Python's precedence (conditional, or, and, not, comparisons,
 * + -, * / // %, unary, **, calls/subscripts/attributes, literals). Anything outside it is an
 * `unsupported syntax` error at its position.
 */
export class ExpressionParser extends TokenStream {
  /** `a, b` without brackets is a tuple. */
  protected testList(): Expr {
    const first = this.test();
    if (!this.isOp(',')) return first;
    const items = [first];
    while (this.acceptOp(',')) {
      if (this.atExpressionEnd()) break;
      items.push(this.test());
    }
    return { kind: 'tuple', items, at: first.at };
  }

  protected test(): Expr {
    const t = this.peek();
    if (t.kind === 'name' && t.value === 'lambda') throw this.unsupported('lambda', t);
    const body = this.orTest();
    if (this.isName('if')) {
      this.next();
      const test = this.orTest();
      if (!this.isName('else')) throw this.error('expected "else" in conditional expression', this.peek());
      this.next();
      return { kind: 'ifexp', test, body, orelse: this.test(), at: body.at };
    }
    return body;
  }

  private orTest(): Expr {
    let left = this.andTest();
    while (this.isName('or')) {
      this.next();
      left = { kind: 'bool', op: 'or', left, right: this.andTest(), at: left.at };
    }
    return left;
  }

  private andTest(): Expr {
    let left = this.notTest();
    while (this.isName('and')) {
      this.next();
      left = { kind: 'bool', op: 'and', left, right: this.notTest(), at: left.at };
    }
    return left;
  }

  private notTest(): Expr {
    if (this.isName('not')) {
      const t = this.next();
      return { kind: 'unary', op: 'not', operand: this.notTest(), at: pos(t) };
    }
    return this.comparison();
  }

  private comparison(): Expr {
    const first = this.arith();
    const rest: { op: string; right: Expr }[] = [];
    for (;;) {
      const t = this.peek();
      let op: string | undefined;
      if (t.kind === 'op' && COMPARISONS.has(t.value)) op = t.value;
      else if (t.kind === 'name' && t.value === 'in') op = 'in';
      else if (t.kind === 'name' && t.value === 'is') op = 'is';
      else if (t.kind === 'name' && t.value === 'not' && this.peek(1).kind === 'name' && this.peek(1).value === 'in') op = 'not in';
      if (op === undefined) break;
      this.next();
      if (op === 'not in') this.next();
      else if (op === 'is' && this.isName('not')) {
        this.next();
        op = 'is not';
      }
      rest.push({ op, right: this.arith() });
    }
    return rest.length === 0 ? first : { kind: 'compare', first, rest, at: first.at };
  }

  private arith(): Expr {
    let left = this.term();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.next();
      left = { kind: 'binary', op: op.value, left, right: this.term(), at: pos(op) };
    }
    this.rejectOperator();
    return left;
  }

  private term(): Expr {
    let left = this.factor();
    while (this.isOp('*') || this.isOp('/') || this.isOp('//') || this.isOp('%')) {
      const op = this.next();
      left = { kind: 'binary', op: op.value, left, right: this.factor(), at: pos(op) };
    }
    return left;
  }

  private factor(): Expr {
    if (this.isOp('-') || this.isOp('+')) {
      const t = this.next();
      return { kind: 'unary', op: t.value as '-' | '+', operand: this.factor(), at: pos(t) };
    }
    this.rejectOperator();
    return this.power();
  }

  private power(): Expr {
    const base = this.primary();
    if (this.isOp('**')) {
      const op = this.next();
      return { kind: 'binary', op: '**', left: base, right: this.factor(), at: pos(op) };
    }
    return base;
  }

  private primary(): Expr {
    let expr = this.atom();
    for (;;) {
      if (this.isOp('(')) expr = this.call(expr);
      else if (this.isOp('[')) {
        const open = this.next();
        if (this.isOp(':')) throw this.unsupported('slice', this.peek());
        const index = this.testList();
        if (this.isOp(':')) throw this.unsupported('slice', this.peek());
        this.expectOp(']', 'to close the subscript');
        expr = { kind: 'subscript', object: expr, index, at: pos(open) };
      } else if (this.isOp('.')) {
        this.next();
        const name = this.peek();
        if (name.kind !== 'name') throw this.error('expected an attribute name after "."', name);
        this.next();
        expr = { kind: 'attr', object: expr, attr: name.value, at: pos(name) };
      } else return expr;
    }
  }

  private call(func: Expr): Expr {
    const open = this.next();
    const args: Expr[] = [];
    const kwargs: { name?: string; value: Expr; at: Position }[] = [];
    while (!this.isOp(')')) {
      const t = this.peek();
      if (this.isOp('**')) {
        this.next();
        kwargs.push({ value: this.test(), at: pos(t) });
      } else if (this.isOp('*')) throw this.unsupported('*args in a call', t);
      else if (t.kind === 'name' && this.peek(1).kind === 'op' && this.peek(1).value === '=') {
        if (KEYWORDS.has(t.value)) throw this.error(`"${t.value}" is a keyword and cannot name an argument`, t);
        this.next();
        this.next();
        kwargs.push({ name: t.value, value: this.test(), at: pos(t) });
      } else {
        if (kwargs.length > 0) throw this.error('positional argument follows keyword argument', t);
        const value = this.test();
        if (this.isName('for')) throw this.unsupported('generator expression', this.peek());
        args.push(value);
      }
      if (!this.acceptOp(',')) break;
    }
    this.expectOp(')', 'to close the call');
    return { kind: 'call', func, args, kwargs, at: pos(open) };
  }

  private atom(): Expr {
    const t = this.peek();
    const at = pos(t);
    switch (t.kind) {
      case 'number':
        this.next();
        return numberLiteral(t.value, at, this.filename);
      case 'string': {
        let value = '';
        while (this.peek().kind === 'string') value += this.next().value; // adjacent literals concatenate
        return { kind: 'str', value, at };
      }
      case 'name': {
        this.next();
        if (t.value === 'True' || t.value === 'False') return { kind: 'const', value: t.value === 'True', at };
        if (t.value === 'None') return { kind: 'const', value: null, at };
        if (t.value in UNSUPPORTED_STATEMENTS) throw this.unsupported(UNSUPPORTED_STATEMENTS[t.value]!, t);
        if (KEYWORDS.has(t.value)) throw this.error(`unexpected keyword "${t.value}"`, t);
        return { kind: 'name', id: t.value, at };
      }
      case 'op':
        if (t.value === '(') return this.parenthesized();
        if (t.value === '[') return this.listDisplay();
        if (t.value === '{') return this.dictDisplay();
        if (t.value in UNSUPPORTED_OPERATORS) throw this.unsupported(UNSUPPORTED_OPERATORS[t.value]!, t);
        if (t.value === '*') throw this.unsupported('starred expression', t);
        throw this.error(`unexpected "${t.value}"`, t);
      case 'newline':
      case 'eof':
        throw this.error('unexpected end of line, expected a value', t);
      case 'indent':
        throw this.error('bad indentation: unexpected indent', t, 'PY_INDENT');
      default:
        throw this.error('unexpected dedent, expected a value', t);
    }
  }

  private parenthesized(): Expr {
    const open = this.next();
    if (this.acceptOp(')')) return { kind: 'tuple', items: [], at: pos(open) };
    const first = this.test();
    if (this.isName('for')) throw this.unsupported('generator expression', this.peek());
    if (this.acceptOp(')')) return first;
    const items = [first];
    while (this.acceptOp(',')) {
      if (this.isOp(')')) break;
      items.push(this.test());
    }
    this.expectOp(')', 'to close the tuple');
    return { kind: 'tuple', items, at: pos(open) };
  }

  private listDisplay(): Expr {
    const open = this.next();
    const items: Expr[] = [];
    while (!this.isOp(']')) {
      if (this.isOp('*')) throw this.unsupported('starred expression', this.peek());
      items.push(this.test());
      if (this.isName('for')) throw this.unsupported('list comprehension', this.peek());
      if (!this.acceptOp(',')) break;
    }
    this.expectOp(']', 'to close the list');
    return { kind: 'list', items, at: pos(open) };
  }

  private dictDisplay(): Expr {
    const open = this.next();
    const entries: { key?: Expr; value: Expr }[] = [];
    while (!this.isOp('}')) {
      if (this.acceptOp('**')) {
        entries.push({ value: this.orTest() });
      } else {
        const key = this.test();
        if (this.isOp(',') || this.isOp('}')) throw this.unsupported('set literal', open);
        if (this.isName('for')) throw this.unsupported('set comprehension', this.peek());
        this.expectOp(':', 'between a dict key and its value');
        const value = this.test();
        if (this.isName('for')) throw this.unsupported('dict comprehension', this.peek());
        entries.push({ key, value });
      }
      if (!this.acceptOp(',')) break;
    }
    this.expectOp('}', 'to close the dict');
    return { kind: 'dict', entries, at: pos(open) };
  }

  private rejectOperator(): void {
    const t = this.peek();
    if (t.kind === 'op' && t.value in UNSUPPORTED_OPERATORS) throw this.unsupported(UNSUPPORTED_OPERATORS[t.value]!, t);
  }

  private atExpressionEnd(): boolean {
    const t = this.peek();
    return t.kind === 'newline' || t.kind === 'eof' || (t.kind === 'op' && (t.value === '=' || t.value === ';' || t.value === ')'));
  }
}

/** A number token as an int (bigint) or a float. */
function numberLiteral(text: string, at: Position, filename: string): Expr {
  const clean = text.replace(/_/g, '');
  if (/[jJ]$/.test(clean)) throw syntaxError('unsupported syntax: complex number', filename, at, 'PY_UNSUPPORTED');
  if (/^0[xXoObB]/.test(clean)) return { kind: 'int', value: BigInt(clean.toLowerCase()), at };
  if (/[.eE]/.test(clean)) return { kind: 'float', value: Number(clean), at };
  return { kind: 'int', value: BigInt(clean), at };
}
