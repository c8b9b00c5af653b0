import { REQUIRED, Registry, defineComponent } from '../../src/registry/index.js';

describe('component entries', () => {
  const built: Record<string, unknown>[] = [];
  const registry = new Registry<string>('thing').addAll([
    defineComponent({ type: 'Widget', args: { size: REQUIRED, colour: 'red', label: undefined }, build: (a) => (built.push(a), `widget ${JSON.stringify(a.size)} ${a.colour}`) }),
    defineComponent({ type: 'Free', build: (a) => `free ${Object.keys(a).join(',')}` }),
  ]);

  test('fills defaults and passes every declared argument', () => {
    expect(registry.build({ type: 'Widget', size: 3 })).toBe('widget 3 red');
    expect(built.at(-1)).toEqual({ size: 3, colour: 'red', label: undefined });
    expect(registry.build({ type: 'Widget', size: 1, colour: 'blue' })).toBe('widget 1 blue');
  });

  test('rejects an undeclared argument with did-you-mean, and a missing required one by name', () => {
    expect(() => registry.build({ type: 'Widget', size: 1, colour: 'red', colr: 2 })).toThrow(/Widget does not accept the argument "colr"; did you mean colour/);
    expect(() => registry.build({ type: 'Widget' })).toThrow(/Widget needs "size"/);
  });

  test('an entry without args leaves checking to its constructor', () => {
    expect(registry.build({ type: 'Free', a: 1, b: 2 })).toBe('free a,b');
  });
});
