import { KERNELS_WASM_BASE64 } from './kernels-wasm.js';

/** The WebAssembly SIMD kernels (kernels.wat) and their linear memory. */
export interface WasmKernels {
  /** Pillow box-blur pass over `n` bytes at `src` into `dst` (byte offsets in memory), taps `d` apart. */
  boxPass(src: number, dst: number, n: number, d: number, r: number, ww: number, fw: number): void;
  /** Pillow horizontal resampling of 3-channel rows (bounds / kk: Int32 coefficient tables in memory). */
  resampleH3(src: number, srcStride: number, rows: number, outW: number, bounds: number, kk: number, ksize: number, dst: number): void;
  /** Pillow vertical resampling of rows of `rowLen` bytes. */
  resampleV(src: number, stride: number, rowLen: number, outH: number, bounds: number, kk: number, ksize: number, dst: number): void;
  /** In place: bytes through a 256-entry table at `lut`. */
  applyLut(ptr: number, n: number, lut: number): void;
  /** Sum of Pillow's L over `npx` RGB pixels. */
  lumaSum(ptr: number, npx: number): number;
  /** In place: ImageEnhance.Color of `npx` RGB pixels; `step` = f32[511] of float32(alpha * d). */
  saturate(ptr: number, npx: number, step: number): void;
  /** In place: Pillow HSV hue shift with the tables at `tables` (see kernels.wat). */
  hue(ptr: number, npx: number, shift: number, tables: number): void;
  /** ToTensor + Normalize of n bytes into float32 at dst, 12-periodic means / stds at consts (see kernels.wat). */
  toTensorNormalize(src: number, n: number, dst: number, consts: number): void;
  /** Mirrors H rows of W pixels of C bytes from src into dst. */
  flipRows(src: number, dst: number, W: number, H: number, C: number): void;
  /** Where callers' scratch space starts (below it: tables that stay, see `tables`). */
  readonly scratch: number;
  /** Whether the hue tables are in memory [0, scratch) yet (the colour code loads them once). */
  tablesLoaded: boolean;
  /** The memory as bytes, at least `scratch + size` long (grows it; views taken before a call are stale after). */
  bytes(size: number): Uint8Array;
}

/** The few WebAssembly globals used here (tsconfig's lib has no DOM, where TypeScript declares them). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

/** Memory below this holds the hue tables (528,640 bytes). */
const SCRATCH = 532480;

let kernels: WasmKernels | null | undefined;
let enabled = process.env.SSL_DATA_WASM !== '0';

/** Turns the WebAssembly kernels off or on (tests compare both paths; `SSL_DATA_WASM=0` starts with them off). */
export function useWasmKernels(on: boolean): void {
  enabled = on;
}

/** The kernels, or null where WebAssembly SIMD is unavailable or turned off (the JS paths give the same bytes). */
export function wasmKernels(): WasmKernels | null {
  if (!enabled) return null;
  if (kernels !== undefined) return kernels;
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64')), {});
    const ex = instance.exports as { memory: WasmMemory } & Pick<WasmKernels, 'boxPass' | 'resampleH3' | 'resampleV' | 'applyLut' | 'lumaSum' | 'saturate' | 'hue' | 'toTensorNormalize' | 'flipRows'>;
    const memory = ex.memory;
    let view = new Uint8Array(memory.buffer);
    kernels = {
      boxPass: ex.boxPass,
      resampleH3: ex.resampleH3,
      resampleV: ex.resampleV,
      applyLut: ex.applyLut,
      lumaSum: ex.lumaSum,
      saturate: ex.saturate,
      hue: ex.hue,
      toTensorNormalize: ex.toTensorNormalize,
      flipRows: ex.flipRows,
      scratch: SCRATCH,
      tablesLoaded: false,
      bytes(size) {
        const need = SCRATCH + size;
        if (memory.buffer.byteLength < need) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
        if (view.buffer !== memory.buffer) view = new Uint8Array(memory.buffer);
        return view;
      },
    };
  } catch {
    kernels = null;
  }
  return kernels;
}
