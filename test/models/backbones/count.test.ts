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

  test('an algorithm that keeps its backbone inside an encoder (MoCo) still gets a backbone row, outside the total', async () => {
    const models = await import('../../../src/models/index.js');
    const backbone = { type: 'ResNet', depth: 18 };
    const c = countModelParameters(
      { type: 'MoCo', queue_len: 8, feat_dim: 4, backbone, neck: { type: 'MoCoV2Neck', in_channels: 512, hid_channels: 8, out_channels: 4 }, head: { type: 'ContrastiveHead' } },
      { buildModel: (cfg) => models.buildModel(cfg) },
    );
    expect(c.parts.map((p) => p.part)).toEqual(['backbone', 'encoder_q', 'encoder_k', 'head']);
    expect(c.parts[0].total).toBe(11_176_512);
    const neck = 512 * 8 + 8 + 8 * 4 + 4;
    expect(c.total).toBe(2 * (11_176_512 + neck));
    expect(c.trainable).toBe(11_176_512 + neck);
  });

  test('a config without a model section is a config error', () => {
    expect(() => countModelParameters(undefined, {})).toThrow(/no "model" section/);
  });
});
