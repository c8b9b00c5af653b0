/**
 * MMSelfSup's own config tree (v0.11.0, 162 .py files) against what mmcv 1.7.1 resolves
 * them to. The corpus lives beside the clone in ../shared (CI keeps a copy there).
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../../src/config/index.js';
import { convertPythonConfig } from '../../../src/config/python/convert.js';
import { pythonImportWarnings } from '../../../src/config/python/index.js';
import { REPO_ROOT } from '../../helpers/run-cli.js';

const SHARED = resolve(REPO_ROOT, '../shared');
const CONFIGS = join(SHARED, 'data/mmselfsup-configs');
const RESOLVED = join(SHARED, 'data/mmselfsup-resolved');
const present = existsSync(CONFIGS) && existsSync(join(RESOLVED, 'MANIFEST.tsv'));

function pyFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? pyFiles(path) : name.endsWith('.py') ? [relative(CONFIGS, path)] : [];
    });
}

const all = present ? pyFiles(CONFIGS) : [];
const selfsup = all.filter((f) => f.startsWith('selfsup/'));
const describeCorpus = present ? describe : describe.skip;
const title = present ? 'MMSelfSup config corpus' : `MMSelfSup config corpus (skipped: ${CONFIGS} or ${RESOLVED} is absent)`;

describeCorpus(title, () => {
  test('the corpus is the one described: 162 files, 81 under selfsup/, each listed ok in MANIFEST.tsv', () => {
    expect(all).toHaveLength(162);
    const rows = readFileSync(join(RESOLVED, 'MANIFEST.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
    expect(rows.map((r) => r[0]).sort()).toEqual([...selfsup].sort());
    expect(rows.filter((r) => r[1] !== 'ok')).toEqual([]);
  });

  test.each(selfsup)('%s resolves to what mmcv gives', (file) => {
    const expected = JSON.parse(readFileSync(join(RESOLVED, `${file}.json`), 'utf8'));
    expect(loadConfig(join(CONFIGS, file))).toEqual(expected);
  });

  test('every file loads (benchmarks too); exactly the 7 with custom_imports warn, naming module and types', () => {
    const warned: string[] = [];
    for (const file of all) {
      const cfg = loadConfig(join(CONFIGS, file));
      const warnings = pythonImportWarnings(cfg);
      if (cfg.custom_imports === undefined) {
        expect(warnings).toEqual([]);
        continue;
      }
      warned.push(file);
      const spec = cfg.custom_imports as { imports: string | string[] };
      const modules = typeof spec.imports === 'string' ? [spec.imports] : spec.imports;
      expect(warnings).toHaveLength(modules.length);
      modules.forEach((module, i) => {
        expect(warnings[i]).toContain(`"${module}" is a Python module`);
        const named = /the config uses (.+) from it/.exec(warnings[i]!)?.[1]?.split(', ') ?? [];
        expect(named.length).toBeGreaterThan(0);
        for (const type of named) expect(JSON.stringify(cfg)).toContain(`"type":"${type}"`);
      });
    }
    expect(warned).toHaveLength(7);
  });

  describe('ssl config convert', () => {
    const work = present ? mkdtempSync(join(tmpdir(), 'ssl-convert-')) : '';
    const tree = join(work, 'configs');
    if (present) cpSync(CONFIGS, tree, { recursive: true });
    afterAll(() => rmSync(work, { recursive: true, force: true }));

    test.each(all)('%s: converted YAML (with _base_ converted alongside) resolves the same', (file) => {
      const { written } = convertPythonConfig(join(tree, file));
      const yamlPath = join(tree, file.replace(/\.py$/, '.yaml'));
      expect(written[0]).toBe(yamlPath);
      const bases = [parse(readFileSync(yamlPath, 'utf8'))._base_ ?? []].flat() as string[];
      for (const base of bases) expect(base).toMatch(/\.yaml$/);
      expect(loadConfig(yamlPath)).toEqual(loadConfig(join(tree, file)));
    });

    test.each(all)('%s: --flatten gives one self-contained YAML that resolves the same', (file) => {
      const out = join(work, 'flat', file.replace(/\.py$/, '.yaml'));
      convertPythonConfig(join(tree, file), { out, flatten: true });
      expect(readFileSync(out, 'utf8')).not.toMatch(/^_base_:/m);
      expect(loadConfig(out)).toEqual(loadConfig(join(tree, file)));
    });
  });
});
