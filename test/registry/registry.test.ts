import { join } from 'node:path';
import { Registry, checkArgs, loadCustomImports } from '../../src/registry/index.js';
import { RegistryError } from '../../src/errors.js';
import { writeTree } from '../helpers/tmp-files.js';

function necks() {
  const r = new Registry<{ kind: string; args: Record<string, unknown> }>('neck');
  for (const name of ['NonLinearNeck', 'MoCoV2Neck', 'LinearNeck', 'AvgPool2dNeck']) r.register(name, (args) => ({ kind: name, args }));
  return r;
}

describe('Registry', () => {
  test('builds a component by MMSelfSup type name with its arguments', () => {
    expect(necks().build({ type: 'MoCoV2Neck', in_channels: 2048, hid_channels: 2048 })).toEqual({ kind: 'MoCoV2Neck', args: { in_channels: 2048, hid_channels: 2048 } });
  });

  test('an unknown type lists the closest registered names', () => {
    expect(() => necks().build({ type: 'MocoV2Neck' })).toThrow(/unknown neck type "MocoV2Neck"; did you mean MoCoV2Neck/);
    try {
      necks().build({ type: 'NonLinearNek' });
    } catch (e) {
      expect((e as RegistryError).suggestions[0]).toBe('NonLinearNeck');
    }
  });

  test('a config without a string type is an error', () => {
    expect(() => necks().build({ in_channels: 1 })).toThrow(/needs a string "type"/);
  });

  test('registering a name twice needs force', () => {
    const r = necks();
    expect(() => r.register('LinearNeck', () => ({ kind: 'x', args: {} }))).toThrow(/already registered/);
    r.register('LinearNeck', () => ({ kind: 'x', args: {} }), { force: true });
    expect(r.build({ type: 'LinearNeck' }).kind).toBe('x');
  });

  test('checkArgs rejects an unknown argument naming the key and type, with a suggestion', () => {
    expect(() => checkArgs('ContrastiveHead', { temperatur: 0.1 }, ['temperature'])).toThrow(/ContrastiveHead does not accept the argument "temperatur"; did you mean temperature/);
    expect(() => checkArgs('ContrastiveHead', { temperature: 0.1 }, ['temperature'])).not.toThrow();
  });
});

describe('custom_imports', () => {
  test('a user module registers its own component, found relative to the config', async () => {
    const root = writeTree({ 'my_neck.mjs': 'export function register(r) { r.necks.register("MyNeck", (a) => ({ kind: "MyNeck", args: a })); }\n' });
    const registries = { necks: necks() } as never as Record<string, Registry<unknown>>;
    const res = await loadCustomImports({ imports: ['./my_neck.mjs'] }, registries, root);
    expect(res.loaded).toEqual(['./my_neck.mjs']);
    expect(registries.necks!.build({ type: 'MyNeck', d: 1 })).toEqual({ kind: 'MyNeck', args: { d: 1 } });
  });

  test('a missing module is an error unless allow_failed_imports', async () => {
    const root = writeTree({});
    await expect(loadCustomImports({ imports: ['./nope.mjs'] }, {}, root)).rejects.toThrow(/cannot find module "\.\/nope\.mjs".*allow_failed_imports/);
    const res = await loadCustomImports({ imports: ['./nope.mjs'], allow_failed_imports: true }, {}, root);
    expect(res.warnings[0]).toMatch(/cannot find module/);
  });

  test('a Python module name is a warning, not an error', async () => {
    const res = await loadCustomImports({ imports: ['mmcls.models'], allow_failed_imports: false }, {}, join('/tmp'));
    expect(res.warnings[0]).toMatch(/"mmcls\.models" is a Python module/);
  });

  test('a module without register() is an error', async () => {
    const root = writeTree({ 'bad.mjs': 'export const x = 1;\n' });
    await expect(loadCustomImports({ imports: ['./bad.mjs'] }, {}, root)).rejects.toThrow(/must export a function register/);
  });
});
