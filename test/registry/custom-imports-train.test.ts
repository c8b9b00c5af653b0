/** Issue 24, item 3: ssl train loads custom_imports (JS modules registering components) before building. */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runWorker } from '../../src/runner/worker-main.js';
import { REPO_ROOT, runCli } from '../helpers/run-cli.js';
import { captured, quiet, tempDir, TINY_SIMCLR, writeConfig } from '../runner/helpers.js';

const EXAMPLE = 'examples/custom-imports/simclr_epoch-banner_synthetic.yaml';

function logText(d: string): string {
  return readdirSync(d).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(d, f), 'utf8')).join('\n');
}

function small(c: Record<string, any>): void {
  c.data.samples_per_gpu = 4;
  c.data.train.data_source.num_samples = 4;
}

test('the README example: the module registers EpochBannerHook, the config uses it, the run logs it', async () => {
  const w = join(tempDir(), 'w');
  expect(await quiet(() => runWorker(['--config', EXAMPLE, '--work-dir', w, '--backend', 'wasm']))).toBe(0);
  const log = logText(w);
  expect(log).toContain('custom_imports: loaded ./epoch-banner-hook.mjs');
  expect(log).toMatch(/\(NORMAL {6}\) EpochBannerHook/);
  expect(log).toContain('banner from a custom_imports module: epoch 1 of 1, iteration 2');
});

test('a component from a module named relative to the config, with the api (Module) handed to register', async () => {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'my-neck.mjs'),
    `export function register(registries, { Module, tf }) {
       class MeanNeck extends Module {
         constructor() { super(); }
         forward(x) { const t = Array.isArray(x) ? x[x.length - 1] : x; return [tf.mean(t, [1, 2])]; }
       }
       registries.necks.register('MeanNeck', () => new MeanNeck());
     }\n`,
  );
  const cfg = writeConfig(dir, TINY_SIMCLR, (c) => {
    small(c);
    c.custom_imports = { imports: ['./my-neck.mjs'] };
    c.model.neck = { type: 'MeanNeck' };
  });
  const w = join(dir, 'w');
  expect(await quiet(() => runWorker(['--config', cfg, '--work-dir', w, '--backend', 'wasm']))).toBe(0);
  expect(logText(w)).toContain('custom_imports: loaded ./my-neck.mjs');
});

test('a module that fails to import: exit 2, one line naming it; allow_failed_imports turns it into a warning', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'broken.mjs'), "throw new Error('cannot load the plugin');\n");
  const cfg = writeConfig(dir, TINY_SIMCLR, (c) => {
    small(c);
    c.custom_imports = { imports: ['./broken.mjs'] };
  });
  const w = join(dir, 'w');
  const r = await captured(() => runWorker(['--config', cfg, '--work-dir', w, '--backend', 'wasm']));
  expect(r.result).toBe(2);
  const errors = r.out.split('\n').filter((l) => l.includes(' - ERROR - '));
  expect(errors).toEqual([expect.stringMatching(/ERROR - custom_imports: cannot import "\.\/broken\.mjs" \(cannot load the plugin\)$/)]);

  const allowed = writeConfig(dir, TINY_SIMCLR, (c) => {
    small(c);
    c.custom_imports = { imports: ['./broken.mjs'], allow_failed_imports: true };
  }, 'allowed.json');
  const w2 = join(dir, 'w2');
  expect(await quiet(() => runWorker(['--config', allowed, '--work-dir', w2, '--backend', 'wasm']))).toBe(0);
  expect(logText(w2)).toMatch(/WARNING - custom_imports: cannot import "\.\/broken\.mjs"/);
});

test('a module that does not exist: exit 2 naming it', async () => {
  const dir = tempDir();
  const cfg = writeConfig(dir, TINY_SIMCLR, (c) => {
    small(c);
    c.custom_imports = { imports: ['./missing-plugin.mjs'] };
  });
  const w = join(dir, 'w');
  const r = await captured(() => runWorker(['--config', cfg, '--work-dir', w, '--backend', 'wasm']));
  expect(r.result).toBe(2);
  expect(r.out).toContain('custom_imports: cannot find module "./missing-plugin.mjs"');
});

test('ssl model count-params and ssl eval knn load custom_imports too', () => {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'neck.mjs'),
    `export function register(registries, { Module, tf }) {
       class MeanNeck extends Module {
         forward(x) { const t = Array.isArray(x) ? x[x.length - 1] : x; return [tf.mean(t, [1, 2])]; }
       }
       registries.necks.register('MeanNeck', () => new MeanNeck());
     }\n`,
  );
  writeFileSync(
    join(dir, 'cfg.yaml'),
    `_base_: ${join(REPO_ROOT, TINY_SIMCLR)}\ncustom_imports: {imports: [./neck.mjs]}\nmodel:\n  neck: {_delete_: true, type: MeanNeck}\ndata: {train: {data_source: {num_samples: 8}}}\n`,
  );
  const count = runCli(['model', 'count-params', join(dir, 'cfg.yaml'), '--json'], { cwd: dir });
  expect(count.stderr).toBe('');
  expect(count.status).toBe(0);
  const knn = runCli(['eval', 'knn', join(dir, 'cfg.yaml'), '--k', '3', '--backend', 'wasm', '--json'], { cwd: dir });
  expect(knn.status).toBe(0);
  expect(JSON.parse(knn.stdout.trim().split('\n').at(-1)!)).toMatchObject({ k: 3, numVal: 8 });
});
