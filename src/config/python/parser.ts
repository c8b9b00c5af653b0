import type { Expr, Stmt } from './ast.js';
import { ExpressionParser, UNSUPPORTED_STATEMENTS } from './expressions.js';
import { describe, pos } from './token-stream.js';
import type { Position } from './tokenizer.js';
import { tokenize } from './tokenizer.js';

const AUGMENTED = new Set(['+=', '-=', '*=', '/=', '//=', '%=', '**=']);

/**
 * Parses a Python config file (the subset MMSelfSup's configs use) into statements.
 * @throws ConfigError `unsupported syntax: <what> at file:line:col` for Python outside the subset,
 *   or a syntax error with the same position for text that is not Python.
 */
export function parseModule(source: string, filename: string): Stmt[] {
  return new StatementParser(tokenize(source, filename), filename).module();
}

/** Statements: assignments (plain and augmented), expression statements, if/elif/else blocks, pass. */
class StatementParser extends ExpressionParser {
  module(): Stmt[] {
    const body: Stmt[] = [];
    while (this.peek().kind !== 'eof') {
      if (this.peek().kind === 'indent') throw this.error('bad indentation: unexpected indent', this.peek(), 'PY_INDENT');
      body.push(...this.statement());
    }
    return body;
  }

  /** One line of simple statements (`;`-separated) or one compound statement. */
  private statement(): Stmt[] {
    const t = this.peek();
    if (t.kind === 'name' && t.value === 'if') return [this.ifStatement()];
    if (t.kind === 'op' && t.value === '@') throw this.unsupported('decorator', t);
    const stmts = [this.simpleStatement()];
    while (this.acceptOp(';')) {
      if (this.peek().kind === 'newline') break;
      stmts.push(this.simpleStatement());
    }
    this.expectNewline();
    return stmts;
  }

  private ifStatement(): Stmt {
    const at = this.next();
    const test = this.test();
    this.expectOp(':', 'after the if condition');
    const body = this.block();
    let orelse: Stmt[] = [];
    const t = this.peek();
    if (t.kind === 'name' && t.value === 'elif') orelse = [this.ifStatement()];
    else if (t.kind === 'name' && t.value === 'else') {
      this.next();
      this.expectOp(':', 'after else');
      orelse = this.block();
    }
    return { kind: 'if', test, body, orelse, at: pos(at) };
  }

  /** An indented block after `:`, or simple statements on the same line. */
  private block(): Stmt[] {
    if (this.peek().kind !== 'newline') return this.statement();
    this.next();
    if (this.peek().kind !== 'indent') throw this.error('bad indentation: expected an indented block', this.peek(), 'PY_INDENT');
    this.next();
    const body: Stmt[] = [];
    while (this.peek().kind !== 'dedent' && this.peek().kind !== 'eof') {
      if (this.peek().kind === 'indent') throw this.error('bad indentation: unexpected indent', this.peek(), 'PY_INDENT');
      body.push(...this.statement());
    }
    if (this.peek().kind === 'dedent') this.next();
    return body;
  }

  private simpleStatement(): Stmt {
    const t = this.peek();
    if (t.kind === 'name' && t.value === 'pass') {
      this.next();
      return { kind: 'pass', at: pos(t) };
    }
    if (t.kind === 'name' && t.value in UNSUPPORTED_STATEMENTS) throw this.unsupported(UNSUPPORTED_STATEMENTS[t.value]!, t);
    if (t.kind === 'name' && (t.value === 'elif' || t.value === 'else')) throw this.error(`"${t.value}" without a matching if`, t);
    const first = this.testList();
    const op = this.peek();
    if (op.kind === 'op' && op.value === '=') {
      const targets = [first];
      let value = first;
      while (this.acceptOp('=')) {
        value = this.testList();
        targets.push(value);
      }
      targets.pop();
      for (const target of targets) this.checkTarget(target, target === first ? pos(t) : target.at);
      return { kind: 'assign', targets, value, at: pos(t) };
    }
    if (op.kind === 'op' && AUGMENTED.has(op.value)) {
      this.next();
      this.checkTarget(first, pos(t));
      return { kind: 'augassign', target: first, op: op.value.slice(0, -1), value: this.testList(), at: pos(t) };
    }
    if (op.kind === 'op' && op.value === ':') throw this.unsupported('variable annotation', op);
    return { kind: 'expr', value: first, at: pos(t) };
  }

  /** Only plain names can be assigned to. `at`: where the target starts. */
  private checkTarget(target: Expr, at: Position): void {
    if (target.kind === 'name') return;
    if (target.kind === 'subscript' || target.kind === 'attr') throw this.unsupported(`assignment to ${target.kind === 'attr' ? 'an attribute' : 'an item'}`, at);
    if (target.kind === 'tuple' || target.kind === 'list') throw this.unsupported('unpacking assignment', at);
    throw this.error('cannot assign to an expression', at);
  }

  private expectNewline(): void {
    const t = this.peek();
    if (t.kind === 'newline') {
      this.next();
      return;
    }
    if (t.kind === 'eof' || t.kind === 'dedent') return;
    if (t.kind === 'name' && t.value === 'for') throw this.unsupported('comprehension', t);
    throw this.error(`expected the end of the statement, found ${describe(t)}`, t);
  }
}
