import { checkArgs } from '../../registry/registry.js';
import { ConfigError, SslError } from '../../errors.js';
import { fileClient, type FileBackend } from '../file-client.js';
import type { DataSource, Image } from '../types.js';
import { unpickle, type NdArray } from './pickle.js';

interface Layout {
  py: { folder: string; train: string[]; test: string[]; meta: string; metaKey: string; labelKey: string };
  bin: { folder: string; train: string[]; test: string[]; labelBytes: number; labelIndex: number };
}

const CIFAR10L: Layout = {
  py: { folder: 'cifar-10-batches-py', train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}`), test: ['test_batch'], meta: 'batches.meta', metaKey: 'label_names', labelKey: 'labels' },
  bin: { folder: 'cifar-10-batches-bin', train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`), test: ['test_batch.bin'], labelBytes: 1, labelIndex: 0 },
};
const CIFAR100L: Layout = {
  py: { folder: 'cifar-100-python', train: ['train'], test: ['test'], meta: 'meta', metaKey: 'fine_label_names', labelKey: 'fine_labels' },
  bin: { folder: 'cifar-100-binary', train: ['train.bin'], test: ['test.bin'], labelBytes: 2, labelIndex: 1 },
};

/**
 * MMSelfSup CIFAR10 / CIFAR100: `data_prefix` holds `cifar-10-batches-py` (Python pickles, read by
 * ssl's own unpickler) or `cifar-10-batches-bin` (binary records), or is one of those folders.
 * Images are 32x32 RGB, HWC uint8.
 */
export class CIFAR10Source implements DataSource {
  readonly type: string;
  readonly skipCorrupt: boolean;
  CLASSES?: string[];
  private imgs = new Uint8Array(0); // N x 32 x 32 x 3
  private labels = new Int32Array(0);
  private readonly dataPrefix: string;
  private readonly testMode: boolean;
  private readonly fileClientArgs?: Record<string, unknown>;

  constructor(typeName: string, private readonly layout: Layout, args: Record<string, unknown>) {
    checkArgs(typeName, args, ['data_prefix', 'classes', 'ann_file', 'test_mode', 'color_type', 'channel_order', 'file_client_args', 'skip_corrupt']);
    this.type = typeName;
    this.dataPrefix = (args.data_prefix as string) ?? 'data/cifar';
    this.testMode = Boolean(args.test_mode);
    this.fileClientArgs = args.file_client_args as Record<string, unknown> | undefined;
    this.skipCorrupt = Boolean(args.skip_corrupt);
  }

  get length(): number {
    return this.labels.length;
  }

  private async findFolder(fc: FileBackend): Promise<{ dir: string; kind: 'py' | 'bin' }> {
    const base = this.dataPrefix.replace(/\/+$/, '');
    const last = base.split('/').pop();
    if (last === this.layout.py.folder) return { dir: base, kind: 'py' };
    if (last === this.layout.bin.folder) return { dir: base, kind: 'bin' };
    let names: string[];
    try {
      names = (await fc.list(base)).map((e) => e.name);
    } catch (e) {
      throw new ConfigError(`${this.type}: data_prefix ${base} is not a readable directory (${(e as Error).message})`);
    }
    if (names.includes(this.layout.py.folder)) return { dir: fc.join(base, this.layout.py.folder), kind: 'py' };
    if (names.includes(this.layout.bin.folder)) return { dir: fc.join(base, this.layout.bin.folder), kind: 'bin' };
    throw new ConfigError(`${this.type}: ${base} holds neither ${this.layout.py.folder} nor ${this.layout.bin.folder}`);
  }

  async init(): Promise<void> {
    const fc = await fileClient(this.fileClientArgs, this.dataPrefix);
    const { dir, kind } = await this.findFolder(fc);
    const imgs: Uint8Array[] = [];
    const labels: number[] = [];
    const read = async (f: string) => {
      const path = fc.join(dir, f);
      try {
        return await fc.get(path);
      } catch (e) {
        throw new ConfigError(`${this.type}: cannot read ${path}: ${(e as Error).message}`);
      }
    };
    if (kind === 'py') {
      const L = this.layout.py;
      for (const f of this.testMode ? L.test : L.train) {
        const path = fc.join(dir, f);
        const entry = unpickle(await read(f), path) as Record<string, unknown>;
        const data = entry.data as NdArray | undefined;
        const lab = (entry[L.labelKey] ?? entry.labels ?? entry.fine_labels) as number[] | undefined;
        if (!data?.__ndarray__ || !Array.isArray(lab)) throw new SslError(`${path}: expected a dict with "data" (numpy array) and "${L.labelKey}"`, { code: 'CORRUPT_FILE' });
        if (data.data.length !== lab.length * 3072) throw new SslError(`${path}: data holds ${data.data.length} bytes for ${lab.length} labels (3072 each expected)`, { code: 'CORRUPT_FILE' });
        imgs.push(chwToHwc(data.data, lab.length));
        labels.push(...lab);
      }
      try {
        const meta = unpickle(await fc.get(fc.join(dir, L.meta)), L.meta) as Record<string, unknown>;
        const names = meta[L.metaKey] as unknown[] | undefined;
        if (Array.isArray(names)) this.CLASSES = names.map((n) => (n instanceof Uint8Array ? Buffer.from(n).toString('latin1') : String(n)));
      } catch {
        // Class names are optional.
      }
    } else {
      const L = this.layout.bin;
      const rec = L.labelBytes + 3072;
      for (const f of this.testMode ? L.test : L.train) {
        const buf = await read(f);
        if (buf.length % rec !== 0) throw new SslError(`${fc.join(dir, f)}: ${buf.length} bytes is not a multiple of ${rec}-byte records`, { code: 'CORRUPT_FILE' });
        const n = buf.length / rec;
        const chw = new Uint8Array(n * 3072);
        for (let i = 0; i < n; i++) {
          labels.push(buf[i * rec + L.labelIndex]);
          chw.set(buf.subarray(i * rec + L.labelBytes, (i + 1) * rec), i * 3072);
        }
        imgs.push(chwToHwc(chw, n));
      }
    }
    const total = imgs.reduce((s, a) => s + a.length, 0);
    this.imgs = new Uint8Array(total);
    let off = 0;
    for (const a of imgs) {
      this.imgs.set(a, off);
      off += a.length;
    }
    this.labels = Int32Array.from(labels);
  }

  getLabel(idx: number): number {
    return this.labels[idx];
  }
  getGtLabels(): Int32Array {
    return this.labels.slice();
  }
  describe(idx: number): string {
    return `${this.dataPrefix} [${idx}]`;
  }
  async getImage(idx: number): Promise<Image> {
    return { data: this.imgs.slice(idx * 3072, (idx + 1) * 3072), height: 32, width: 32, channels: 3 };
  }
}

function chwToHwc(chw: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n * 3072);
  for (let i = 0; i < n; i++) {
    const b = i * 3072;
    for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) out[b + p * 3 + c] = chw[b + c * 1024 + p];
  }
  return out;
}

export class CIFAR10 extends CIFAR10Source {
  constructor(args: Record<string, unknown>) {
    super('CIFAR10', CIFAR10L, args);
  }
}
export class CIFAR100 extends CIFAR10Source {
  constructor(args: Record<string, unknown>) {
    super('CIFAR100', CIFAR100L, args);
  }
}
