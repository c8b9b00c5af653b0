import { initBackend } from '../../../src/engine/backend.js';
import { countModelParameters, formatModelCount } from '../../../src/models/backbones/count.js';

describe('count-params', () => {
  beforeAll(async () => {
    await initBackend('cpu', { log: () => {} });
  });

  test('counts the buildable parts and names the others', () => {
    const c = countModelParameters(
      { type: 'SimCLR', backbone: { type: 'ResNet', depth: 18, frozen_stages: 4 }, neck: { type: 'NoSuchNeck' } },
      { necks: { build: () => { throw new Error('unknown neck type "NoSuchNeck"'); } } },
    );
    expect(c.parts).toEqual([{ part: 'backbone', total: 11_176_512, trainable: 0 }]);
    expect(c.total).toBe(11_176_512);
    expect(c.skipped).toEqual(['neck: unknown neck type "NoSuchNeck"']);
    const lines = formatModelCount(c);
    expect(lines[1]).toMatch(/^backbone\s+11,176,512\s+11\.177 M\s+0$/);
    expect(lines.at(-1)).toBe('not counted: neck: unknown neck type "NoSuchNeck"');
  });

  test('a config without a model section is a config error', () => {
    expect(() => countModelParameters(undefined, {})).toThrow(/no "model" section/);
  });
});
