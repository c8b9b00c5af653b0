import { applyCfgOptions, parseCfgOptions, parseOptionValue } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';

describe('--cfg-options value parsing (mmcv DictAction)', () => {
  test.each([
    ['1', 1],
    ['-3', -3],
    ['0.5', 0.5],
    ['1e-4', 1e-4],
    ['1.', 1],
    ['True', true],
    ['false', false],
    ['None', null],
    ['none', 'none'],
    ['abc', 'abc'],
    ['"quoted"', 'quoted'],
    ['', ''],
  ])('%j parses to %j', (raw, expected) => {
    expect(parseOptionValue(raw)).toEqual(expected);
  });

  test('comma-separated values give a list', () => {
    expect(parseOptionValue('1,2,a')).toEqual([1, 2, 'a']);
  });

  test('[a,b] and (a,b) give lists, nested, without whitespace or quotes', () => {
    expect(parseOptionValue('[1,(2,3),[a,[b]]]')).toEqual([1, [2, 3], ['a', ['b']]]);
    expect(parseOptionValue("'(0.2, 1.0)'")).toEqual([0.2, 1.0]);
    expect(parseOptionValue('[]')).toEqual([]);
  });

  test('unbalanced brackets are an error', () => {
    expect(() => parseCfgOptions(['x=[1,(2]'])).toThrow(/unbalanced brackets/);
  });

  test('an element whose commas are all inside brackets that do not enclose it (a dict) is an error, not endless recursion', () => {
    expect(() => parseCfgOptions(['custom_hooks=[{"type":"SwAVHook","crops_for_assign":[0,1]}]'])).toThrow(/is neither a value nor a \[\.\.\]\/\(\.\.\) list .*custom_hooks\.0\.batch_size=8/);
    expect(() => parseCfgOptions(['x=a[0,1]'])).toThrow(ConfigError);
    expect(parseOptionValue('[a,[0,1]]')).toEqual(['a', [0, 1]]);
  });

  test('an item without = is an error that shows the expected form', () => {
    expect(() => parseCfgOptions(['optimizer.lr'])).toThrow(ConfigError);
    expect(() => parseCfgOptions(['optimizer.lr'])).toThrow(/not key=value; write it like optimizer\.lr=0\.1/);
  });

  test('an empty key part is an error', () => {
    expect(() => parseCfgOptions(['a..b=1'])).toThrow(/empty part/);
  });

  test('only the first = splits key from value', () => {
    expect(parseCfgOptions(['name=a=b'])).toEqual({ name: 'a=b' });
  });
});

describe('--cfg-options application', () => {
  const cfg = {
    optimizer: { type: 'SGD', lr: 0.03 },
    data: { train: { pipeline: [{ type: 'RandomResizedCrop', size: 224 }, { type: 'RandomHorizontalFlip', flip_prob: 0.5 }] } },
  };

  test('dotted keys set nested values and keep siblings', () => {
    const out = applyCfgOptions(cfg, parseCfgOptions(['optimizer.lr=0.1', 'optimizer.momentum=0.9']));
    expect(out.optimizer).toEqual({ type: 'SGD', lr: 0.1, momentum: 0.9 });
  });

  test('numeric parts index into lists', () => {
    const out = applyCfgOptions(cfg, parseCfgOptions(['data.train.pipeline.1.flip_prob=0.0']));
    expect((out.data as never as { train: { pipeline: unknown[] } }).train.pipeline[1]).toEqual({ type: 'RandomHorizontalFlip', flip_prob: 0 });
    expect(cfg.data.train.pipeline[1]!.flip_prob).toBe(0.5);
  });

  test('new keys are created', () => {
    expect(applyCfgOptions(cfg, parseCfgOptions(['runner.max_epochs=2'])).runner).toEqual({ max_epochs: 2 });
  });

  test('a list value replaces the list', () => {
    expect(applyCfgOptions({ w: [1, 2, 3] }, parseCfgOptions(['w=[4]'])).w).toEqual([4]);
  });

  test('an index past the end of a list is an error', () => {
    expect(() => applyCfgOptions(cfg, parseCfgOptions(['data.train.pipeline.5.p=1']))).toThrow(/index 5 is past the end of data\.train\.pipeline, which has 2 item/);
  });

  test('a non-numeric key into a list is an error', () => {
    expect(() => applyCfgOptions(cfg, parseCfgOptions(['data.train.pipeline.x.p=1']))).toThrow(/is a list; "x" is not an index/);
  });
});
