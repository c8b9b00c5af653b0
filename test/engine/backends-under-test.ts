/**
 * tfjs's describeWithFlags idea for ssl's engines: a suite written against one accelerated backend
 * runs once per engine ssl ships, `wasm` and `native` (oneDNN kernels on the wasm heap). Both
 * activate tfjs's 'wasm' backend, so suites keep calling `tf.setBackend('wasm')`; `native` only
 * differs in the kernels installed. Without the native addon the native copies are skipped with the
 * reason, except under CI (where tools/setup-test-env.sh installs oneDNN), where that is a failure.
 */
import { initBackend } from '../../src/engine/backend.js';
import { loadNativeAddon } from '../../src/engine/native/addon.js';
import { tf } from '../../src/engine/tf.js';

export const ENGINES = ['wasm', 'native'] as const;
export type Engine = (typeof ENGINES)[number];

export function nativeUnavailable(): string | null {
  const load = loadNativeAddon();
  return load.ok ? null : load.why;
}

/** `describe(title [engine])` for each engine, with the engine active in beforeAll. */
export function describeEachEngine(title: string, body: (engine: Engine) => void, threads = 2): void {
  for (const engine of ENGINES) {
    const why = engine === 'native' ? nativeUnavailable() : null;
    if (why) {
      if (process.env.CI) test(`${title} [native]`, () => { throw new Error(`the native engine must be built in CI: ${why}`); });
      else describe.skip(`${title} [native: skipped, ${why}]`, () => body(engine));
      continue;
    }
    describe(`${title} [${engine}]`, () => {
      beforeAll(async () => {
        await initBackend(engine, { log: () => {}, threads });
      });
      afterAll(async () => {
        await initBackend('wasm', { log: () => {} }); // restores wasm's own kernels
        await tf.setBackend('cpu');
      });
      body(engine);
    });
  }
}
