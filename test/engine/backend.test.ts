import { initBackend } from '../../src/engine/backend.js';
import { tf } from '../../src/engine/tf.js';

describe('initBackend', () => {
  afterAll(() => tf.setBackend('cpu'));

  test('auto passes over TensorFlow and WebGPU (absent here) and picks wasm, logging why', async () => {
    const lines: string[] = [];
    const choice = await initBackend('auto', { log: (l) => lines.push(l) });
    expect(choice.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.skipped.map((s) => s.split(':')[0])).toEqual(['tensorflow (GPU)', 'tensorflow (CPU)', 'webgpu']);
    expect(lines[0]).toMatch(/^\[engine\] backend wasm: /);
    // Node 20 validates WebAssembly SIMD128, so the SIMD build of XNNPACK must be the one loaded.
    expect(lines[0]).toMatch(/tfjs-backend-wasm-simd\.wasm, SIMD128/);
    expect(lines.slice(1).join('\n')).toMatch(/passed over tensorflow \(GPU\): neither @tensorflow\/tfjs-node-gpu nor @tensorflow\/tfjs-node is installed/);
    expect(lines.join('\n')).toMatch(/passed over webgpu: no navigator.gpu/);
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
    await expect(initBackend('tpu', { log: () => {} })).rejects.toThrow(/unknown backend "tpu"; choose one of auto, tensorflow, webgpu, wasm, cpu/);
  });
});
