/**
 * Differential check against CPython, where a python3 is installed (ssl itself never runs Python):
 * the same config text through our evaluator and through `exec`, compared name by name.
 */
import { spawnSync } from 'node:child_process';
import { parsePythonConfig } from '../../../src/config/python/index.js';

const hasPython = spawnSync('python3', ['--version']).status === 0;
const describePy = hasPython ? describe : describe.skip;
const title = hasPython ? 'agreement with CPython' : 'agreement with CPython (skipped: no python3 on PATH)';

/** Seeded generator of arithmetic expressions over ints and floats (no division by zero: divisors are non-zero literals). */
function randomExpressions(count: number, seed: number): string[] {
  let s = seed;
  const rand = (n: number) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % n;
  };
  const leaf = () => ['3', '-7', '2.5', '1e-4', '256', '0.1', '1.', '-0.75', '4096', '12'][rand(10)]!;
  const divisor = () => ['3', '-7', '2.5', '0.1', '1.', '256'][rand(6)]!;
  const expr = (depth: number): string => {
    if (depth === 0) return leaf();
    const op = ['+', '-', '*', '/', '//', '%'][rand(6)]!;
    const right = op === '/' || op === '//' || op === '%' ? divisor() : expr(depth - 1);
    return `(${expr(depth - 1)} ${op} ${right})`;
  };
  return Array.from({ length: count }, () => expr(1 + rand(3)));
}

const SNIPPETS = [
  '7 // 2', '-7 // 2', '7 // -2', '-7.5 // 2', '7 % -3', '-7 % 3', '7.5 % -2', '-2 ** 2', '2 ** -2', '2 ** 0.5', '(-8) ** 3',
  '2 ** 100', '10 ** 18 + 1', '1 / 3', '2e-4 * 2048 / 512', '1e-6 / 2e-4', '0.1 + 0.2', '128 * 2**3', '3. / 4.', '-0.0',
  "'a' + 'b' * 3", "[1, 2] * 2", "(1,) + (2, 3)", "1 if [] else 2", "0 or 'x'", "'' and 1", "not None", "1 < 2.5 <= 2.5",
  "'b' in 'abc'", "3 in (1, 2)", "[1, 2] == [1.0, 2]", "True + True", "True * 2.5", "'\\x41\\101\\t\\\\q'", "'\\u00e9' + r'\\n'",
  "dict(a=1, **dict(b=2))['b']", "{'k': [1, (2, 3)]}", "[dict(x=1)][-1]", "(1, 2)[1]", "'xyz'[-1]", "1_000_000 // 7", "0x1f + 0o17 + 0b101",
];

describePy(title, () => {
  test('expressions evaluate to the same values as in CPython', () => {
    const exprs = [...SNIPPETS, ...randomExpressions(300, 7)];
    const text = exprs.map((e, i) => `v${i} = ${e}\n`).join('');
    const script = `import json, sys\nns = {}\nexec(sys.stdin.read(), ns)\nprint(json.dumps({k: v for k, v in ns.items() if not k.startswith('__')}))`;
    const r = spawnSync('python3', ['-c', script], { input: text, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const expected = JSON.parse(r.stdout) as Record<string, unknown>;
    const got = parsePythonConfig(text, 'x.py');
    for (const [i, e] of exprs.entries()) expect([e, got[`v${i}`]]).toEqual([e, expected[`v${i}`]]);
  });
});
