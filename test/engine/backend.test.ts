import { initBackend } from '../../src/engine/backend.js';
import { tf } from '../../src/engine/tf.js';
import { nativeUnavailable } from './backends-under-test.js';

describe('initBackend', () => {
  afterAll(() => tf.setBackend('cpu'));

  test('auto passes over TensorFlow and WebGPU (absent here) and picks native, else wasm, logging why', async () => {
    const lines: string[] = [];
    const choice = await initBackend('auto', { log: (l) => lines.push(l) });
    const native = nativeUnavailable() === null;
    expect(choice.name).toBe(native ? 'native' : 'wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.skipped.map((s) => s.split(':')[0])).toEqual(native ? ['tensorflow (GPU)', 'webgpu'] : ['tensorflow (GPU)', 'webgpu', 'native', 'tensorflow (CPU)']);
    expect(lines[0]).toMatch(native ? /^\[engine\] backend native: oneDNN/ : /^\[engine\] backend wasm: /);
    expect(lines.slice(1).join('\n')).toMatch(/passed over tensorflow \(GPU\): neither @tensorflow\/tfjs-node-gpu nor @tensorflow\/tfjs-node is installed/);
    expect(lines.join('\n')).toMatch(/passed over webgpu: no navigator.gpu/);
  });

  test('wasm loads the SIMD build of XNNPACK (Node 20 validates WebAssembly SIMD128)', async () => {
    const lines: string[] = [];
    expect((await initBackend('wasm', { log: (l) => lines.push(l) })).name).toBe('wasm');
    expect(lines[0]).toMatch(/^\[engine\] backend wasm: .*tfjs-backend-wasm-simd\.wasm, SIMD128/);
  });

  test('SSL_BACKEND selects the backend when no name is given', async () => {
    process.env.SSL_BACKEND = 'cpu';
    try {
      expect((await initBackend(undefined, { log: () => {} })).name).toBe('cpu');
    } finally {
      delete process.env.SSL_BACKEND;
    }
  });

  test('explicit unavailable or unknown backends fail with an actionable error', async () => {
    await expect(initBackend('tensorflow', { log: () => {} })).rejects.toThrow(/backend "tensorflow" is not available .*tfjs-node/);
    await expect(initBackend('tpu', { log: () => {} })).rejects.toThrow(/unknown backend "tpu"; choose one of auto, tensorflow, webgpu, native, wasm, cpu/);
  });
});
