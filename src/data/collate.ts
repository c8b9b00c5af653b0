import { SslError } from '../errors.js';
import type { Batch, HostTensor, Sample } from './types.js';

type AnyArray = Float32Array | Int32Array | Uint8Array;

/**
 * Stacks samples into a batch. View k becomes NHWC `[N*b, H, W, C]` (b images per sample for that
 * view, sample-major). Number extras become Int32Array `[N]`; 1-D array extras are concatenated
 * (`rot_label` [N*4]); higher-rank extras are stacked (`mask` [N, h, w]).
 * @throws SslError when samples' views differ in shape.
 */
export function collate(samples: Sample[]): Batch {
  const n = samples.length;
  const first = samples[0];
  const views: HostTensor<Float32Array>[] = first.views.map((v0, k) => {
    const per = v0.data.length;
    const b = first.viewBatch?.[k] ?? 1;
    const data = new Float32Array(per * n);
    samples.forEach((s, i) => {
      const v = s.views[k];
      if (!v || v.height !== v0.height || v.width !== v0.width || v.channels !== v0.channels || v.data.length !== per) {
        throw new SslError(
          `view ${k} of sample ${s.idx} is ${v ? `${v.height}x${v.width}x${v.channels}` : 'missing'} but sample ${first.idx} gave ${v0.height}x${v0.width}x${v0.channels}; ` +
            'end each pipeline with a fixed-size crop or resize',
        );
      }
      data.set(v.data, i * per);
    });
    return { data, shape: [n * b, v0.height, v0.width, v0.channels] };
  });
  const batch: Batch = {
    views,
    labels: Int32Array.from(samples, (s) => s.label),
    idx: Int32Array.from(samples, (s) => s.idx),
  };
  for (const key of Object.keys(first.extras)) {
    const v0 = first.extras[key];
    if (typeof v0 === 'number') {
      batch[key] = Int32Array.from(samples, (s) => s.extras[key] as number);
      continue;
    }
    const per = v0.data.length;
    const Ctor = v0.data.constructor as new (n: number) => AnyArray;
    const data = new Ctor(per * n);
    samples.forEach((s, i) => data.set((s.extras[key] as HostTensor<AnyArray>).data, i * per));
    batch[key] = { data, shape: v0.shape.length === 1 ? [n * v0.shape[0]] : [n, ...v0.shape] };
  }
  return batch;
}

/** The ArrayBuffers of a batch (for zero-copy transfer between threads). */
export function batchBuffers(batch: Batch): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const add = (a: unknown) => {
    if (ArrayBuffer.isView(a) && a.buffer instanceof ArrayBuffer) out.add(a.buffer);
  };
  for (const v of batch.views) add(v.data);
  add(batch.labels);
  add(batch.idx);
  for (const [k, v] of Object.entries(batch)) {
    if (k === 'views') continue;
    if (ArrayBuffer.isView(v)) add(v);
    else if (v && typeof v === 'object' && 'data' in v) add((v as HostTensor<AnyArray>).data);
  }
  return [...out];
}
