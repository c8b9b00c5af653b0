import { SslError } from '../errors.js';

/**
 * Expands a Slurm host list as `scontrol show hostnames` does:
 * `node[01-03,7],gpu5` -> `node01 node02 node03 node7 gpu5`; several bracket groups in one
 * name expand as a product (`r[1-2]n[1-2]` -> r1n1 r1n2 r2n1 r2n2). Zero padding follows the
 * lower bound's width.
 */
export function expandNodelist(list: string): string[] {
  const hosts: string[] = [];
  for (const item of splitTopLevel(list.trim())) {
    if (item !== '') hosts.push(...expandOne(item, list));
  }
  return hosts;
}

/** Splits on commas outside brackets. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '[') depth++;
    else if (c === ']') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

function expandOne(item: string, whole: string): string[] {
  const open = item.indexOf('[');
  if (open < 0) return [item];
  const close = item.indexOf(']', open);
  if (close < 0) throw new SslError(`cannot read the Slurm node list "${whole}": unclosed "["; set MASTER_ADDR explicitly`);
  const prefix = item.slice(0, open);
  const rest = expandOne(item.slice(close + 1), whole);
  const out: string[] = [];
  for (const range of item.slice(open + 1, close).split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(range.trim());
    if (!m) throw new SslError(`cannot read the Slurm node list "${whole}": bad range "${range}"; set MASTER_ADDR explicitly`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    const width = m[1].length;
    for (let n = lo; n <= hi; n++) {
      const num = String(n).padStart(width, '0');
      for (const tail of rest) out.push(`${prefix}${num}${tail}`);
    }
  }
  return out;
}
