import { gunzipSync } from 'node:zlib';
import { checkArgs } from '../../registry/registry.js';
import { ConfigError, SslError } from '../../errors.js';
import { fileClient, type FileBackend } from '../file-client.js';
import type { DataSource, Image } from '../types.js';

const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const DIGITS = ['0 - zero', '1 - one', '2 - two', '3 - three', '4 - four', '5 - five', '6 - six', '7 - seven', '8 - eight', '9 - nine'];

/** Where Debian's `dataset-fashion-mnist` package puts the files. */
export const DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist';

/** Parses an idx file (big-endian header: 0, 0, dtype 0x08, ndim, dims...), gzip or plain. */
export function parseIdx(raw: Uint8Array, name: string): { dims: number[]; data: Uint8Array } {
  let buf = raw;
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = new Uint8Array(gunzipSync(buf));
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0 || buf[2] !== 0x08) {
    throw new SslError(`${name} is not an idx file of unsigned bytes (magic ${Array.from(buf.subarray(0, 4)).join(',')})`, { code: 'CORRUPT_FILE' });
  }
  const ndim = buf[3];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i));
  const offset = 4 + 4 * ndim;
  const count = dims.reduce((a, b) => a * b, 1);
  if (buf.length < offset + count) throw new SslError(`${name} is truncated: ${buf.length - offset} of ${count} bytes`, { code: 'CORRUPT_FILE' });
  return { dims, data: buf.subarray(offset, offset + count) };
}

/**
 * MNIST / FashionMNIST in the idx format (mmcls `MNIST` / `FashionMNIST`): `data_prefix` holds
 * `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`; `test_mode` picks t10k. Images are 28x28,
 * given as RGB (grey replicated) unless `color_type: 'grayscale'`.
 */
export class MNIST implements DataSource {
  readonly type: string = 'MNIST';
  readonly CLASSES: readonly string[] = DIGITS;
  readonly skipCorrupt: boolean;
  private images?: Uint8Array;
  private labels?: Uint8Array;
  private rows = 28;
  private cols = 28;
  private count = 0;
  protected readonly dataPrefix: string;
  private readonly testMode: boolean;
  private readonly colorType: 'color' | 'grayscale';
  private readonly fileClientArgs?: Record<string, unknown>;

  constructor(args: Record<string, unknown>, defaultPrefix = 'data/mnist', typeName = 'MNIST') {
    checkArgs(typeName, args, ['data_prefix', 'test_mode', 'color_type', 'file_client_args', 'skip_corrupt', 'classes', 'ann_file', 'channel_order']);
    this.dataPrefix = (args.data_prefix as string) ?? defaultPrefix;
    this.testMode = Boolean(args.test_mode);
    this.colorType = (args.color_type as 'color' | 'grayscale') ?? 'color';
    this.fileClientArgs = args.file_client_args as Record<string, unknown> | undefined;
    this.skipCorrupt = Boolean(args.skip_corrupt);
    if (this.colorType !== 'color' && this.colorType !== 'grayscale') throw new ConfigError(`${typeName}: color_type must be 'color' or 'grayscale', got ${String(this.colorType)}`);
  }

  get length(): number {
    return this.count;
  }

  private async readIdx(fc: FileBackend, stem: string): Promise<{ dims: number[]; data: Uint8Array }> {
    const names = await fc.list(this.dataPrefix).catch(() => {
      throw new ConfigError(`${this.type}: data_prefix ${this.dataPrefix} is not a readable directory${this.type === 'FashionMNIST' ? ' (install Debian\'s dataset-fashion-mnist, or set data_prefix)' : ''}`);
    });
    const found = names.find((e) => e.name === stem || e.name === `${stem}.gz`);
    if (!found) throw new ConfigError(`${this.type}: ${stem}[.gz] not found in ${this.dataPrefix}`);
    const path = fc.join(this.dataPrefix, found.name);
    return parseIdx(await fc.get(path), path);
  }

  async init(): Promise<void> {
    if (this.images) return;
    const fc = await fileClient(this.fileClientArgs, this.dataPrefix);
    const split = this.testMode ? 't10k' : 'train';
    const img = await this.readIdx(fc, `${split}-images-idx3-ubyte`);
    const lab = await this.readIdx(fc, `${split}-labels-idx1-ubyte`);
    if (img.dims.length !== 3 || lab.dims.length !== 1 || img.dims[0] !== lab.dims[0]) {
      throw new SslError(`${this.type}: images ${JSON.stringify(img.dims)} and labels ${JSON.stringify(lab.dims)} in ${this.dataPrefix} do not match`, { code: 'CORRUPT_FILE' });
    }
    [this.count, this.rows, this.cols] = img.dims;
    this.images = img.data;
    this.labels = lab.data;
  }

  private ready(): void {
    if (!this.images) throw new SslError(`${this.type}: call init() before reading (buildDataset does)`);
  }

  getLabel(idx: number): number {
    this.ready();
    return this.labels![idx];
  }

  getGtLabels(): Int32Array {
    this.ready();
    return Int32Array.from(this.labels!);
  }

  describe(idx: number): string {
    return `${this.dataPrefix} [${idx}]`;
  }

  async getImage(idx: number): Promise<Image> {
    this.ready();
    const px = this.rows * this.cols;
    const grey = this.images!.subarray(idx * px, (idx + 1) * px);
    if (this.colorType === 'grayscale') return { data: grey.slice(), height: this.rows, width: this.cols, channels: 1 };
    const rgb = new Uint8Array(px * 3);
    for (let i = 0; i < px; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = grey[i];
    return { data: rgb, height: this.rows, width: this.cols, channels: 3 };
  }
}

/** Fashion-MNIST (same layout; default `data_prefix` is Debian's dataset-fashion-mnist). */
export class FashionMNIST extends MNIST {
  override readonly type = 'FashionMNIST';
  override readonly CLASSES = FASHION_CLASSES;

  constructor(args: Record<string, unknown>) {
    super(args, DEBIAN_FASHION_MNIST, 'FashionMNIST');
  }
}
