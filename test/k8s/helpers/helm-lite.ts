/**
 * A small renderer for the subset of Helm templates charts/ssl-train uses (Helm cannot be installed here):
 * `{{ .Values.a.b }}`, `{{- ... -}}` whitespace trimming, pipelines with `toYaml`, `nindent`, `indent`, `quote`,
 * `int`, `sub`, `eq`, `gt`, `not`, `include` with `define`, parenthesised sub-expressions, and `if`/`else`/`end`.
 * Values print as Go templates print them; missing values print empty (as Helm does); toYaml drops the final newline.
 * Anything else throws, so a template using more than this subset fails the test instead of rendering wrongly.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

type Node = { t: 'text'; s: string } | { t: 'expr'; e: string } | { t: 'if'; cond: string; then: Node[]; else: Node[] };
type Ctx = { Values: Record<string, unknown> };

/** Splits into text and actions, applying `{{-` / `-}}` trimming. */
function lex(src: string): ({ text: string } | { action: string })[] {
  const out: ({ text: string } | { action: string })[] = [];
  const re = /\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g;
  let last = 0;
  let trimNext = false;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    let text = src.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (m[1]) text = text.replace(/\s+$/, '');
    out.push({ text });
    out.push({ action: m[2] });
    trimNext = Boolean(m[3]);
    last = re.lastIndex;
  }
  let tail = src.slice(last);
  if (trimNext) tail = tail.replace(/^\s+/, '');
  out.push({ text: tail });
  return out;
}

/** Parses a template; `define` blocks are collected into `defines`. */
function parseTemplate(src: string, defines: Map<string, Node[]>): Node[] {
  const tokens = lex(src);
  let i = 0;
  const block = (stopAt: string[]): { nodes: Node[]; stop: string } => {
    const nodes: Node[] = [];
    while (i < tokens.length) {
      const tok = tokens[i++];
      if ('text' in tok) {
        if (tok.text) nodes.push({ t: 'text', s: tok.text });
        continue;
      }
      const a = tok.action;
      if (a.startsWith('/*')) continue;
      if (stopAt.includes(a)) return { nodes, stop: a };
      const def = /^define "([^"]+)"$/.exec(a);
      if (def) {
        defines.set(def[1], block(['end']).nodes);
        continue;
      }
      const cond = /^if (.+)$/.exec(a);
      if (cond) {
        const then = block(['else', 'end']);
        const otherwise = then.stop === 'else' ? block(['end']).nodes : [];
        nodes.push({ t: 'if', cond: cond[1], then: then.nodes, else: otherwise });
        continue;
      }
      if (/^(range|with|else if|template|block)\b/.test(a)) throw new Error(`helm-lite: unsupported action {{ ${a} }}`);
      nodes.push({ t: 'expr', e: a });
    }
    if (stopAt.length) throw new Error(`helm-lite: missing {{ ${stopAt.join(' / ')} }}`);
    return { nodes, stop: '' };
  };
  return block([]).nodes;
}

const truthy = (v: unknown): boolean =>
  !(v === undefined || v === null || v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && Object.keys(v).length === 0));

/** As Go's text/template prints a value (Helm turns `<no value>` into ""). */
function print(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') throw new Error('helm-lite: printing a map or list; use toYaml');
  return String(v);
}

const indent = (n: number, s: string) =>
  s
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');

/** Splits an expression into tokens: strings, parentheses, pipes, words. */
function tokenize(e: string): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|\(|\)|\||[^\s()|]+)/g;
  for (let m = re.exec(e); m; m = re.exec(e)) out.push(m[1]);
  return out;
}

export class HelmLite {
  private readonly defines = new Map<string, Node[]>();
  private readonly templates: [string, Node[]][] = [];

  constructor(chartDir: string) {
    const dir = join(chartDir, 'templates');
    for (const f of readdirSync(dir).sort()) {
      const nodes = parseTemplate(readFileSync(join(dir, f), 'utf8'), this.defines);
      if (!f.startsWith('_')) this.templates.push([f, nodes]);
    }
  }

  /** Renders every template with `values` and returns the non-empty documents, parsed. */
  renderObjects(values: Record<string, unknown>): Record<string, any>[] {
    const ctx: Ctx = { Values: values };
    return this.templates
      .map(([, nodes]) => this.run(nodes, ctx))
      .flatMap((text) => text.split(/^---$/m))
      .filter((doc) => doc.replace(/#.*$/gm, '').trim() !== '')
      .map((doc) => parse(doc));
  }

  renderText(values: Record<string, unknown>): Record<string, string> {
    return Object.fromEntries(this.templates.map(([f, nodes]) => [f, this.run(nodes, { Values: values })]));
  }

  private run(nodes: Node[], ctx: Ctx): string {
    let out = '';
    for (const n of nodes) {
      if (n.t === 'text') out += n.s;
      else if (n.t === 'expr') out += print(this.evalPipeline(tokenize(n.e), ctx));
      else out += this.run(truthy(this.evalPipeline(tokenize(n.cond), ctx)) ? n.then : n.else, ctx);
    }
    return out;
  }

  private evalPipeline(tokens: string[], ctx: Ctx): unknown {
    const cmds: string[][] = [[]];
    let depth = 0;
    for (const t of tokens) {
      if (t === '(') depth++;
      if (t === ')') depth--;
      if (t === '|' && depth === 0) cmds.push([]);
      else cmds[cmds.length - 1].push(t);
    }
    let piped: unknown[] = [];
    for (const cmd of cmds) piped = [this.evalCommand(cmd, ctx, piped)];
    return piped[0];
  }

  private evalCommand(tokens: string[], ctx: Ctx, piped: unknown[]): unknown {
    const args: unknown[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (t === '(') {
        let depth = 1;
        let j = i + 1;
        for (; j < tokens.length && depth > 0; j++) depth += tokens[j] === '(' ? 1 : tokens[j] === ')' ? -1 : 0;
        args.push(this.evalPipeline(tokens.slice(i + 1, j - 1), ctx));
        i = j - 1;
      } else args.push(this.atom(t, ctx, i === 0));
    }
    const [head, ...rest] = args;
    if (typeof head === 'function') return head(...rest, ...piped);
    if (args.length !== 1 || piped.length) throw new Error(`helm-lite: cannot evaluate ${tokens.join(' ')}`);
    return head;
  }

  private atom(t: string, ctx: Ctx, first: boolean): unknown {
    if (t === '.') return ctx;
    if (t.startsWith('.')) return t.slice(1).split('.').reduce<any>((v, k) => (v === undefined || v === null ? undefined : v[k]), ctx);
    if (t.startsWith('"')) return JSON.parse(t);
    if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
    if (t === 'true' || t === 'false') return t === 'true';
    const fns: Record<string, (...a: any[]) => unknown> = {
      toYaml: (v) => (v === undefined || v === null ? 'null' : stringify(v, { lineWidth: 0 }).replace(/\n$/, '')),
      nindent: (n: number, s: string) => `\n${indent(n, s)}`,
      indent: (n: number, s: string) => indent(n, s),
      quote: (v) => JSON.stringify(v === undefined || v === null ? '' : String(v)),
      int: (v) => Math.trunc(Number(v ?? 0)),
      sub: (a, b) => Math.trunc(Number(a)) - Math.trunc(Number(b)),
      eq: (a, b) => a === b,
      gt: (a, b) => {
        if (typeof a !== typeof b) throw new Error('helm-lite: gt of different types (Go templates fail here; use int)');
        return a > b;
      },
      not: (v) => !truthy(v),
      include: (name: string, data: Ctx) => {
        const body = this.defines.get(name);
        if (!body) throw new Error(`helm-lite: no template "${name}"`);
        return this.run(body, data);
      },
    };
    if (first && fns[t]) return fns[t];
    throw new Error(`helm-lite: unsupported token "${t}"`);
  }
}

/** Helm's value merge: user maps merge into the chart's defaults; lists and scalars replace them. */
export function mergeValues(base: Record<string, any>, over: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && out[k] && typeof out[k] === 'object' && !Array.isArray(out[k]) ? mergeValues(out[k], v) : v;
  }
  return out;
}
