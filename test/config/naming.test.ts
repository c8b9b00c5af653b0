import { defaultWorkDir, parseConfigName } from '../../src/config/index.js';

describe('config naming convention', () => {
  test('8xb32 means 8 GPUs x 32 per GPU, coslr and 200e are read', () => {
    const i = parseConfigName('configs/selfsup/mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.yaml');
    expect(i).toMatchObject({ algorithm: 'mocov2', module: 'resnet50', gpus: 8, samplesPerGpu: 32, totalBatch: 256, epochs: 200, dataset: 'ImageNet-1k' });
    expect(i.scheduleTokens).toEqual(['coslr']);
  });

  test('multi-crop and two image sizes', () => {
    const i = parseConfigName('swav_resnet50_8xb32-mcrop-2-6-coslr-200e_in1k-224-96.py');
    expect(i.scheduleTokens).toEqual(['mcrop-2-6', 'coslr']);
    expect(i.imageSizes).toEqual([224, 96]);
  });

  test('iteration schedules', () => {
    expect(parseConfigName('simclr_resnet18-cifar_1xb8-20it_synthetic.yaml')).toMatchObject({ iters: 20, totalBatch: 8, dataset: 'built-in synthetic shapes' });
  });

  test('default work dir is the path below configs/ without extension', () => {
    expect(defaultWorkDir('/x/configs/selfsup/simclr/simclr_a.yaml')).toBe('work_dirs/selfsup/simclr/simclr_a');
    expect(defaultWorkDir('/tmp/other/my.yaml')).toBe('work_dirs/my');
  });
});
