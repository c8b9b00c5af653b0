import type { PyValue } from './values.js';
import { isNumeric, pyEquals, PyTuple, typeName } from './values.js';

/**
 * A Python runtime error (TypeError, ZeroDivisionError, ...) before it gets a file position.
 * The evaluator turns it into a ConfigError at the expression that raised it.
 */
export class PyRuntimeError extends Error {}

const PLACEHOLDER = /__SSL_BASE_REF_\d+__/;

function typeError(op: string, a: PyValue, b: PyValue): PyRuntimeError {
  const ref = [a, b].some((v) => typeof v === 'string' && PLACEHOLDER.test(v));
  const hint = ref ? ' ({{_base_.x}} is only replaced after the file runs: use it as a whole value, not in an expression)' : '';
  return new PyRuntimeError(`unsupported operand types for ${op}: '${typeName(a)}' and '${typeName(b)}'${hint}`);
}

type Num = bigint | number;

function num(v: bigint | number | boolean): Num {
  return typeof v === 'boolean' ? BigInt(v) : v;
}

/** Both operands as ints (bigint) when both are ints, else as floats: Python's numeric promotion. */
function promote(a: Num, b: Num): [bigint, bigint] | [number, number] {
  if (typeof a === 'bigint' && typeof b === 'bigint') return [a, b];
  return [Number(a), Number(b)];
}

function isInt(v: PyValue): v is bigint | boolean {
  return typeof v === 'bigint' || typeof v === 'boolean';
}

/** Python's binary arithmetic operators on the subset's values. */
export function binaryOp(op: string, a: PyValue, b: PyValue): PyValue {
  if (isNumeric(a) && isNumeric(b)) return arithmetic(op, num(a), num(b));
  switch (op) {
    case '+':
      if (typeof a === 'string' && typeof b === 'string') return a + b;
      if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
      if (a instanceof PyTuple && b instanceof PyTuple) return new PyTuple([...a.items, ...b.items]);
      break;
    case '*': {
      const [seq, times] = isInt(b) ? [a, b] : isInt(a) ? [b, a] : [undefined, undefined];
      if (seq === undefined || times === undefined) break;
      if (typeof seq === 'string' && PLACEHOLDER.test(seq)) break;
      const n = Math.max(0, Number(num(times)));
      if (typeof seq === 'string') return seq.repeat(n);
      if (Array.isArray(seq)) return repeat(seq, n);
      if (seq instanceof PyTuple) return new PyTuple(repeat(seq.items, n));
      break;
    }
    default:
      break;
  }
  throw typeError(op, a, b);
}

function repeat(items: readonly PyValue[], n: number): PyValue[] {
  const out: PyValue[] = [];
  for (let i = 0; i < n; i++) out.push(...items); // the same objects, as Python's list * n
  return out;
}

function arithmetic(op: string, a: Num, b: Num): PyValue {
  const [x, y] = promote(a, b);
  switch (op) {
    case '+':
      return (x as number) + (y as number);
    case '-':
      return (x as number) - (y as number);
    case '*':
      return (x as number) * (y as number);
    case '/':
      if (Number(y) === 0) throw new PyRuntimeError('division by zero');
      return Number(x) / Number(y);
    case '//':
      if (Number(y) === 0 && y === 0n) throw new PyRuntimeError('integer division or modulo by zero');
      if (typeof x === 'bigint') return floorDiv(x, y as bigint);
      if (y === 0) throw new PyRuntimeError('float floor division by zero');
      return floatDivmod(x, y as number)[0];
    case '%':
      if (typeof x === 'bigint') {
        if (y === 0n) throw new PyRuntimeError('integer division or modulo by zero');
        return x - floorDiv(x, y as bigint) * (y as bigint);
      }
      if (y === 0) throw new PyRuntimeError('float modulo');
      return floatDivmod(x, y as number)[1];
    case '**':
      return power(a, b);
    default:
      throw new PyRuntimeError(`unsupported operator ${op}`);
  }
}

function floorDiv(x: bigint, y: bigint): bigint {
  const q = x / y;
  return (x % y !== 0n && (x < 0n) !== (y < 0n)) ? q - 1n : q;
}

/** CPython's float_divmod (floatobject.c): `256 // 0.1` is 2559.0, not Math.floor(256 / 0.1). */
function floatDivmod(x: number, y: number): [number, number] {
  let mod = x % y; // C fmod
  let div = (x - mod) / y;
  if (mod !== 0) {
    if (y < 0 !== mod < 0) {
      mod += y;
      div -= 1;
    }
  } else mod = Math.sign(y) * 0;
  if (div === 0) return [Math.sign(x / y) * 0, mod];
  let floorDiv = Math.floor(div);
  if (div - floorDiv > 0.5) floorDiv += 1;
  return [floorDiv, mod];
}

function power(a: Num, b: Num): PyValue {
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    if (b >= 0n) return a ** b;
    if (a === 0n) throw new PyRuntimeError('0.0 cannot be raised to a negative power');
    return Number(a) ** Number(b);
  }
  const x = Number(a);
  const y = Number(b);
  if (x === 0 && y < 0) throw new PyRuntimeError('0.0 cannot be raised to a negative power');
  if (x < 0 && !Number.isInteger(y)) throw new PyRuntimeError('a negative number raised to a fractional power is complex');
  return x ** y;
}

/** Unary `-` and `+` (on numbers; bools count as ints). */
export function unaryOp(op: '-' | '+', v: PyValue): PyValue {
  if (!isNumeric(v)) throw new PyRuntimeError(`bad operand type for unary ${op}: '${typeName(v)}'`);
  const n = num(v);
  if (op === '+') return n;
  return typeof n === 'bigint' ? -n : -n;
}

/** Python comparison operators: ==, !=, <, <=, >, >=, in, not in, is, is not. */
export function compareOp(op: string, a: PyValue, b: PyValue): boolean {
  switch (op) {
    case '==':
      return pyEquals(a, b);
    case '!=':
      return !pyEquals(a, b);
    case 'is':
      return identical(a, b);
    case 'is not':
      return !identical(a, b);
    case 'in':
      return contains(b, a);
    case 'not in':
      return !contains(b, a);
    default:
      return order(op, a, b);
  }
}

function identical(a: PyValue, b: PyValue): boolean {
  if (typeof a === 'object' || typeof b === 'object') return a === b;
  return typeof a === typeof b && a === b;
}

function contains(container: PyValue, item: PyValue): boolean {
  if (typeof container === 'string') {
    if (typeof item !== 'string') throw new PyRuntimeError(`'in <string>' requires string as left operand, not ${typeName(item)}`);
    return container.includes(item);
  }
  if (Array.isArray(container)) return container.some((v) => pyEquals(v, item));
  if (container instanceof PyTuple) return container.items.some((v) => pyEquals(v, item));
  if (container instanceof Map) return typeof item === 'string' && container.has(item);
  throw new PyRuntimeError(`argument of type '${typeName(container)}' is not iterable`);
}

function order(op: string, a: PyValue, b: PyValue): boolean {
  let c: number;
  if (isNumeric(a) && isNumeric(b)) {
    const x = num(a);
    const y = num(b);
    c = x < y ? -1 : x > y ? 1 : 0;
  } else if (typeof a === 'string' && typeof b === 'string') c = a < b ? -1 : a > b ? 1 : 0;
  else throw new PyRuntimeError(`'${op}' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
  if (op === '<') return c < 0;
  if (op === '<=') return c <= 0;
  if (op === '>') return c > 0;
  return c >= 0;
}
