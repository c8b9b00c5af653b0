import { SslError } from '../errors.js';
import { tf } from './tf.js';
import { registerWasmKernels } from './wasm/index.js';
import { loadNativeAddon } from './native/addon.js';
import { installNativeKernels, removeNativeKernels } from './native/kernels.js';
import { resolveThreads } from './native/threads.js';

/** Backends a user can ask for (`--backend`, `SSL_BACKEND`). */
export const BACKEND_NAMES = ['auto', 'tensorflow', 'webgpu', 'native', 'wasm', 'cpu'] as const;
/** Arithmetic of convolutions and matmuls (`--precision`); bf16 needs the native backend and a CPU with avx512_bf16/AMX. */
export const PRECISIONS = ['fp32', 'bf16'] as const;
export type Precision = (typeof PRECISIONS)[number];
export type BackendName = (typeof BACKEND_NAMES)[number];

/** What `initBackend` chose and why the others were passed over. */
export interface BackendChoice {
  /** ssl's backend name: 'tensorflow' | 'webgpu' | 'native' | 'wasm' | 'cpu' ('native' runs on tfjs's 'wasm' backend with oneDNN kernels). */
  name: string;
  /** Arithmetic of convolutions and matmuls actually used. */
  precision: Precision;
  /** Compute threads of the native engine (1 elsewhere: wasm and cpu are single-threaded in Node). */
  threads: number;
  /** For 'tensorflow': whether it runs on a GPU (tfjs-node-gpu with a visible device). */
  gpu: boolean;
  /** One line per backend tried before the chosen one, saying why it was skipped. */
  skipped: string[];
  /** One line describing the choice. */
  reason: string;
}

export interface InitBackendOptions {
  /** Where to write the choice (default: stderr). Pass `() => {}` to silence. */
  log?: (line: string) => void;
  /** Native engine threads (`--threads`); default SSL_THREADS, OMP_NUM_THREADS, then the usable cores. */
  threads?: number | string;
  /** 'bf16' computes convolutions and matmuls in bfloat16 on the native backend where the CPU supports it (default SSL_PRECISION, then fp32). */
  precision?: string;
}

type Attempt = { ok: true; gpu: boolean; detail: string; precision?: Precision; threads?: number; warning?: string } | { ok: false; why: string };

/**
 * Activates a TensorFlow.js backend. `auto` tries, in order: tfjs-node-gpu with a GPU, tfjs-node
 * (CPU TensorFlow), WebGPU (only when an adapter is found), wasm, cpu. tfjs-node(-gpu) and
 * @tensorflow/tfjs-backend-webgpu are optional packages loaded by dynamic import when installed.
 * The request defaults to `SSL_BACKEND`, then 'auto'.
 * @throws SslError when an explicitly requested backend cannot be started.
 */
export async function initBackend(requested?: string, options: InitBackendOptions = {}): Promise<BackendChoice> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const name = (requested ?? process.env.SSL_BACKEND ?? 'auto').toLowerCase();
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new SslError(`unknown backend "${name}"; choose one of ${BACKEND_NAMES.join(', ')}`, { code: 'BAD_BACKEND' });
  }
  const precision = (options.precision ?? process.env.SSL_PRECISION ?? 'fp32').toLowerCase();
  if (!(PRECISIONS as readonly string[]).includes(precision)) {
    throw new SslError(`unknown precision "${precision}"; choose one of ${PRECISIONS.join(', ')}`, { code: 'BAD_PRECISION' });
  }
  const threads = resolveThreads(options.threads);
  const native = () => tryNative(threads, precision as Precision);
  const order: [string, () => Promise<Attempt>][] =
    name === 'auto'
      ? [
          ['tensorflow (GPU)', () => tryTensorflow(true)],
          ['webgpu', tryWebgpu],
          ['native', native],
          ['tensorflow (CPU)', () => tryTensorflow(false)],
          ['wasm', tryWasm],
          ['cpu', tryCpu],
        ]
      : [[name, { tensorflow: () => tryTensorflow(false), webgpu: tryWebgpu, native, wasm: tryWasm, cpu: tryCpu }[name as 'cpu']]];
  const skipped: string[] = [];
  for (const [label, attempt] of order) {
    const result = await attempt();
    if (result.ok) {
      const choice: BackendChoice = {
        name: label === 'native' ? 'native' : tf.getBackend(),
        gpu: result.gpu,
        precision: result.precision ?? 'fp32',
        threads: result.threads ?? 1,
        skipped,
        reason: `${label}: ${result.detail}`,
      };
      log(`[engine] backend ${choice.name}${choice.gpu ? ' (GPU)' : ''}: ${result.detail}`);
      if (precision === 'bf16' && choice.precision !== 'bf16') {
        log(`[engine] warning: bf16 requested, computing in fp32: ${result.warning ?? `the ${choice.name} backend has no bf16 path (use --backend native on a CPU with avx512_bf16 or AMX)`}`);
      }
      for (const s of skipped) log(`[engine]   passed over ${s}`);
      return choice;
    }
    skipped.push(`${label}: ${result.why}`);
  }
  throw new SslError(`backend "${name}" is not available (${skipped.join('; ')})`, { code: 'BACKEND_UNAVAILABLE' });
}

async function importOptional(pkg: string): Promise<unknown | null> {
  try {
    return await import(pkg);
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' || /Cannot find (module|package)/.test(String(e))) return null;
    throw e;
  }
}

let tensorflowTried: { pkg: string | null; error?: string } | null = null;

/** Loads tfjs-node-gpu, else tfjs-node, once; they register backend 'tensorflow' into the shared tfjs-core. */
async function loadTensorflow(): Promise<{ pkg: string | null; error?: string }> {
  if (tensorflowTried) return tensorflowTried;
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      if ((await importOptional(pkg)) !== null) {
        registerWasmKernels(true); // its @tensorflow/tfjs bundle re-registered tfjs's conv gradients
        return (tensorflowTried = { pkg });
      }
    } catch (e) {
      return (tensorflowTried = { pkg: null, error: `${pkg} failed to load: ${(e as Error).message.split('\n')[0]}` });
    }
  }
  return (tensorflowTried = { pkg: null });
}

async function tryTensorflow(wantGpu: boolean): Promise<Attempt> {
  const loaded = await loadTensorflow();
  if (!loaded.pkg) return { ok: false, why: loaded.error ?? 'neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed' };
  if (!tf.findBackendFactory('tensorflow')) {
    return {
      ok: false,
      why: `${loaded.pkg} is installed but registered into another copy of @tensorflow/tfjs-core (install the same version as ours, ${tf.version_core}, so npm dedupes it)`,
    };
  }
  const gpu = loaded.pkg.endsWith('-gpu') && usesGpu();
  if (wantGpu && !gpu) return { ok: false, why: loaded.pkg.endsWith('-gpu') ? 'tfjs-node-gpu found no CUDA device' : 'only the CPU build (tfjs-node) is installed' };
  if (!(await tf.setBackend('tensorflow'))) return { ok: false, why: `${loaded.pkg} failed to initialise` };
  return { ok: true, gpu, detail: `${loaded.pkg}${gpu ? ' on a CUDA device' : ' on the CPU'}` };
}

/** tfjs-node exposes `isUsingGpuDevice()` on its backend since 4.x; absent = assume the build's default. */
function usesGpu(): boolean {
  try {
    const backend = tf.findBackend('tensorflow'); // initialises the registered backend if needed
    if (!backend) return false;
    const probe = (backend as { isUsingGpuDevice?: () => boolean }).isUsingGpuDevice;
    return typeof probe === 'function' ? probe.call(backend) : true;
  } catch {
    return false;
  }
}

async function tryWebgpu(): Promise<Attempt> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
  if (!gpu) return { ok: false, why: 'no navigator.gpu in this runtime' };
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter) return { ok: false, why: 'navigator.gpu found no adapter' };
  if ((await importOptional('@tensorflow/tfjs-backend-webgpu')) === null) {
    return { ok: false, why: 'a WebGPU adapter exists but @tensorflow/tfjs-backend-webgpu is not installed' };
  }
  if (!(await tf.setBackend('webgpu').catch(() => false))) return { ok: false, why: 'the webgpu backend failed to initialise' };
  return { ok: true, gpu: true, detail: 'WebGPU adapter found' };
}

/**
 * The native engine: tfjs's wasm backend (tensors on the wasm heap) with oneDNN kernels for the
 * convolutions and matmuls, multi-threaded (OpenMP), fp32 or bf16.
 */
async function tryNative(threads: number, precision: Precision): Promise<Attempt> {
  const load = loadNativeAddon();
  if (!load.ok) return { ok: false, why: load.why };
  const wasm = await tryWasm();
  if (!wasm.ok) return wasm;
  const { addon } = load;
  const info = addon.info();
  addon.setThreads(threads);
  const bf16 = precision === 'bf16' && info.bf16;
  const warning = precision === 'bf16' && !info.bf16 ? `this CPU (oneDNN ISA ${info.isa}) has neither avx512_bf16 nor AMX` : undefined;
  installNativeKernels(addon, { blocked: process.env.SSL_NATIVE_LAYOUT !== 'nhwc', bf16, keepBlocked: process.env.SSL_NATIVE_KEEP_BLOCKED !== '0' });
  const detail = `oneDNN ${info.onednn} (${info.isa}), ${threads} thread${threads > 1 ? 's' : ''}, ${bf16 ? 'bf16 convolutions/matmuls with fp32 master weights' : 'fp32'}; other ops on wasm`;
  return { ok: true, gpu: false, detail, precision: bf16 ? 'bf16' : 'fp32', threads, warning };
}

async function tryWasm(): Promise<Attempt> {
  removeNativeKernels();
  registerWasmKernels();
  const ok = await tf.setBackend('wasm').catch((e: Error) => {
    return e.message;
  });
  if (ok !== true) return { ok: false, why: `the wasm backend failed to initialise${typeof ok === 'string' ? `: ${ok}` : ''}` };
  await tf.ready();
  // tfjs-backend-wasm loads tfjs-backend-wasm-simd.wasm when the runtime validates SIMD128 (Node ≥ 16 does),
  // else the scalar tfjs-backend-wasm.wasm (several times slower); threads are never enabled in Node.
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const build = simd ? 'tfjs-backend-wasm-simd.wasm, SIMD128' : 'tfjs-backend-wasm.wasm, no SIMD: slow';
  return { ok: true, gpu: false, detail: `WebAssembly (XNNPACK, ${build}, single thread in Node) with ssl gradient kernels` };
}

async function tryCpu(): Promise<Attempt> {
  await tf.setBackend('cpu');
  return { ok: true, gpu: false, detail: 'pure-JS reference backend (slow: tests and fallback only)' };
}
