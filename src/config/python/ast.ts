import type { Position } from './tokenizer.js';

/** Expressions of the config subset. Every node keeps where it starts, for errors. */
export type Expr =
  | { kind: 'const'; value: null | boolean; at: Position }
  | { kind: 'int'; value: bigint; at: Position }
  | { kind: 'float'; value: number; at: Position }
  | { kind: 'str'; value: string; at: Position }
  | { kind: 'name'; id: string; at: Position }
  | { kind: 'list' | 'tuple'; items: Expr[]; at: Position }
  /** `{k: v, **other}`: `key` undefined marks a `**` entry. */
  | { kind: 'dict'; entries: { key?: Expr; value: Expr }[]; at: Position }
  | { kind: 'unary'; op: '-' | '+' | 'not'; operand: Expr; at: Position }
  | { kind: 'binary'; op: string; left: Expr; right: Expr; at: Position }
  | { kind: 'bool'; op: 'and' | 'or'; left: Expr; right: Expr; at: Position }
  | { kind: 'compare'; first: Expr; rest: { op: string; right: Expr }[]; at: Position }
  | { kind: 'ifexp'; test: Expr; body: Expr; orelse: Expr; at: Position }
  /** `f(a, k=v, **m)`: `name` undefined on an argument marks `**`. */
  | { kind: 'call'; func: Expr; args: Expr[]; kwargs: { name?: string; value: Expr; at: Position }[]; at: Position }
  | { kind: 'attr'; object: Expr; attr: string; at: Position }
  | { kind: 'subscript'; object: Expr; index: Expr; at: Position };

export type Stmt =
  | { kind: 'assign'; targets: Expr[]; value: Expr; at: Position }
  | { kind: 'augassign'; target: Expr; op: string; value: Expr; at: Position }
  | { kind: 'expr'; value: Expr; at: Position }
  | { kind: 'if'; test: Expr; body: Stmt[]; orelse: Stmt[]; at: Position }
  | { kind: 'pass'; at: Position };
