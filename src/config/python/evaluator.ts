import { ConfigError } from '../../errors.js';
import type { Expr, Stmt } from './ast.js';
import { binaryOp, compareOp, PyRuntimeError, unaryOp } from './operators.js';
import type { Position } from './tokenizer.js';
import { syntaxError } from './tokenizer.js';
import type { PyDict, PyValue } from './values.js';
import { PyTuple, truthy, typeName } from './values.js';

/**
 * Runs parsed config statements as Python would and returns the module's names, in the
 * order they were first assigned (like a module's `__dict__`).
 * @throws ConfigError with `file:line:col` for a name that is not defined, a call other than
 *   `dict(...)`, `.append`/`.extend`, or a Python runtime error (TypeError, KeyError, ...).
 */
export function evaluateModule(body: Stmt[], filename: string): Map<string, PyValue> {
  const scope = new Map<string, PyValue>();
  new Evaluator(scope, filename).run(body);
  return scope;
}

class Evaluator {
  constructor(
    private readonly scope: Map<string, PyValue>,
    private readonly filename: string,
  ) {}

  run(body: Stmt[]): void {
    for (const stmt of body) this.statement(stmt);
  }

  private statement(stmt: Stmt): void {
    switch (stmt.kind) {
      case 'assign': {
        const value = this.expr(stmt.value);
        for (const target of stmt.targets) this.scope.set((target as { id: string }).id, value);
        return;
      }
      case 'augassign': {
        const name = (stmt.target as { id: string }).id;
        const current = this.expr(stmt.target);
        const value = this.expr(stmt.value);
        if (stmt.op === '+' && Array.isArray(current)) {
          // `list += iterable` extends the list in place (other names holding it see the change).
          current.push(...this.iterate(value, stmt.value.at));
          return;
        }
        this.scope.set(name, this.guard(stmt.at, () => binaryOp(stmt.op, current, value)));
        return;
      }
      case 'expr':
        this.expr(stmt.value);
        return;
      case 'if':
        this.run(truthy(this.expr(stmt.test)) ? stmt.body : stmt.orelse);
        return;
      case 'pass':
        return;
    }
  }

  private expr(e: Expr): PyValue {
    switch (e.kind) {
      case 'const':
      case 'int':
      case 'float':
      case 'str':
        return e.value;
      case 'name':
        if (!this.scope.has(e.id)) {
          const hint = e.id === 'dict' ? ' (dict can only be called: dict(k=v))' : '';
          throw this.error(`name '${e.id}' is not defined${hint}`, e.at, 'PY_NAME');
        }
        return this.scope.get(e.id)!;
      case 'list':
        return e.items.map((item) => this.expr(item));
      case 'tuple':
        return new PyTuple(e.items.map((item) => this.expr(item)));
      case 'dict': {
        const out: PyDict = new Map();
        for (const entry of e.entries) {
          if (entry.key === undefined) {
            for (const [k, v] of this.mapping(this.expr(entry.value), entry.value.at, '**')) out.set(k, v);
            continue;
          }
          const key = this.expr(entry.key);
          if (typeof key !== 'string') throw this.error(`dict keys must be strings in a config, got ${typeName(key)}`, entry.key.at, 'PY_TYPE');
          out.set(key, this.expr(entry.value));
        }
        return out;
      }
      case 'unary': {
        const operand = this.expr(e.operand);
        if (e.op === 'not') return !truthy(operand);
        return this.guard(e.at, () => unaryOp(e.op as '-' | '+', operand));
      }
      case 'binary': {
        const left = this.expr(e.left);
        const right = this.expr(e.right);
        return this.guard(e.at, () => binaryOp(e.op, left, right));
      }
      case 'bool': {
        const left = this.expr(e.left);
        if (e.op === 'and' ? !truthy(left) : truthy(left)) return left;
        return this.expr(e.right);
      }
      case 'compare': {
        let left = this.expr(e.first);
        for (const { op, right } of e.rest) {
          const value = this.expr(right);
          if (!this.guard(right.at, () => compareOp(op, left, value))) return false;
          left = value;
        }
        return true;
      }
      case 'ifexp':
        return truthy(this.expr(e.test)) ? this.expr(e.body) : this.expr(e.orelse);
      case 'call':
        return this.call(e);
      case 'attr':
        throw this.unsupported(`attribute access ".${e.attr}" (only .append(...) and .extend(...) calls on lists)`, e.at);
      case 'subscript':
        return this.subscript(this.expr(e.object), this.expr(e.index), e.at);
    }
  }

  private call(e: Extract<Expr, { kind: 'call' }>): PyValue {
    const { func } = e;
    if (func.kind === 'attr') return this.methodCall(func, e);
    if (func.kind !== 'name' || func.id !== 'dict' || this.scope.has('dict')) {
      const what = func.kind === 'name' ? `call to ${func.id}()` : 'call';
      throw this.unsupported(`${what} (the only call a config may make is dict(...))`, func.at);
    }
    if (e.args.length > 1) throw this.error(`dict expected at most 1 positional argument, got ${e.args.length}`, e.at, 'PY_TYPE');
    const out: PyDict = new Map();
    if (e.args.length === 1) {
      for (const [k, v] of this.mapping(this.expr(e.args[0]!), e.args[0]!.at, 'dict()')) out.set(k, v);
    }
    const given = new Set<string>();
    for (const kw of e.kwargs) {
      const entries: [string, PyValue][] = kw.name !== undefined ? [[kw.name, this.expr(kw.value)]] : [...this.mapping(this.expr(kw.value), kw.value.at, '**')];
      for (const [k, v] of entries) {
        if (given.has(k)) throw this.error(`dict() got multiple values for keyword argument '${k}'`, kw.at, 'PY_TYPE');
        given.add(k);
        out.set(k, v);
      }
    }
    return out;
  }

  private methodCall(func: Extract<Expr, { kind: 'attr' }>, e: Extract<Expr, { kind: 'call' }>): PyValue {
    const target = this.expr(func.object);
    if (func.attr !== 'append' && func.attr !== 'extend') {
      throw this.unsupported(`method .${func.attr}() (only .append(...) and .extend(...) on lists)`, func.at);
    }
    if (!Array.isArray(target)) throw this.error(`'${typeName(target)}' object has no attribute '${func.attr}'`, func.at, 'PY_TYPE');
    if (e.kwargs.length > 0 || e.args.length !== 1) {
      throw this.error(`list.${func.attr}() takes exactly one positional argument`, e.at, 'PY_TYPE');
    }
    const arg = this.expr(e.args[0]!);
    if (func.attr === 'append') target.push(arg);
    else target.push(...this.iterate(arg, e.args[0]!.at));
    return null;
  }

  private subscript(object: PyValue, index: PyValue, at: Position): PyValue {
    if (object instanceof Map) {
      if (typeof index !== 'string' || !object.has(index)) throw this.error(`KeyError: ${pyRepr(index)}`, at, 'PY_KEY');
      return object.get(index)!;
    }
    const items = typeof object === 'string' ? [...object] : Array.isArray(object) ? object : object instanceof PyTuple ? object.items : undefined;
    if (items === undefined) throw this.error(`'${typeName(object)}' object is not subscriptable`, at, 'PY_TYPE');
    if (typeof index !== 'bigint' && typeof index !== 'boolean') {
      throw this.error(`${typeName(object)} indices must be integers, not ${typeName(index)}`, at, 'PY_TYPE');
    }
    const n = Number(index);
    const i = n < 0 ? items.length + n : n;
    if (i < 0 || i >= items.length) throw this.error(`${typeName(object)} index out of range`, at, 'PY_INDEX');
    return items[i]!;
  }

  private mapping(value: PyValue, at: Position, what: string): PyDict {
    if (value instanceof Map) return value;
    throw this.error(`argument after ${what} must be a mapping, not ${typeName(value)}`, at, 'PY_TYPE');
  }

  private iterate(value: PyValue, at: Position): readonly PyValue[] {
    if (Array.isArray(value)) return [...value];
    if (value instanceof PyTuple) return value.items;
    if (typeof value === 'string') return [...value];
    if (value instanceof Map) return [...value.keys()];
    throw this.error(`'${typeName(value)}' object is not iterable`, at, 'PY_TYPE');
  }

  /** Runs an operation, giving a Python runtime error the position of the expression. */
  private guard<T>(at: Position, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof PyRuntimeError) throw this.error(err.message, at, 'PY_TYPE');
      throw err;
    }
  }

  private error(what: string, at: Position, code: string): ConfigError {
    return syntaxError(what, this.filename, at, code);
  }

  private unsupported(what: string, at: Position): ConfigError {
    return syntaxError(`unsupported syntax: ${what}`, this.filename, at, 'PY_UNSUPPORTED');
  }
}

function pyRepr(v: PyValue): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  return typeof v === 'object' ? typeName(v) : String(v);
}
