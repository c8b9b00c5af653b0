import { checkArgs } from '../../registry/registry.js';
import { ConfigError, SslError } from '../../errors.js';
import { decodeImage } from '../decode.js';
import { diskBackend, fileClient, type FileBackend } from '../file-client.js';
import { existsSync } from 'node:fs';
import type { DataSource, Image } from '../types.js';

const IMG_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp'];
const BASE_ARGS = ['data_prefix', 'classes', 'ann_file', 'test_mode', 'color_type', 'channel_order', 'file_client_args', 'skip_corrupt'];

/** One image of a file-list source: path relative to `data_prefix`, label(s), where it was listed. */
interface Info {
  filename: string;
  label: number;
  labels?: number[];
  origin?: string;
}

/**
 * MMSelfSup BaseDataSource for image files: `data_prefix`, optional `ann_file`, `color_type`
 * ('color' | 'grayscale'), `channel_order` (rgb), `file_client_args` (disk or a registered backend
 * such as s3), ssl's `skip_corrupt`.
 */
abstract class FileSource implements DataSource {
  abstract readonly type: string;
  readonly skipCorrupt: boolean;
  CLASSES?: string[];
  protected infos: Info[] = [];
  protected fc?: FileBackend;
  protected readonly dataPrefix: string;
  protected readonly annFile?: string | string[];
  protected readonly colorType: 'color' | 'grayscale';
  protected readonly channelOrder: 'rgb' | 'bgr';
  protected readonly fileClientArgs?: Record<string, unknown>;

  constructor(typeName: string, args: Record<string, unknown>, extra: string[] = []) {
    checkArgs(typeName, args, [...BASE_ARGS, ...extra]);
    if (typeof args.data_prefix !== 'string' && args.data_prefix !== null && args.data_prefix !== undefined) throw new ConfigError(`${typeName}: data_prefix must be a path`);
    this.dataPrefix = (args.data_prefix as string) ?? '';
    this.annFile = args.ann_file as string | string[] | undefined;
    this.colorType = (args.color_type as 'color' | 'grayscale') ?? 'color';
    this.channelOrder = (args.channel_order as 'rgb' | 'bgr') ?? 'rgb';
    this.fileClientArgs = args.file_client_args as Record<string, unknown> | undefined;
    this.skipCorrupt = Boolean(args.skip_corrupt);
    if (Array.isArray(args.classes)) this.CLASSES = args.classes as string[];
  }

  get length(): number {
    return this.infos.length;
  }

  protected abstract load(fc: FileBackend): Promise<Info[]>;

  async init(): Promise<void> {
    this.fc = await fileClient(this.fileClientArgs, this.dataPrefix || (typeof this.annFile === 'string' ? this.annFile : undefined));
    this.infos = await this.load(this.fc);
  }

  /**
   * The runner's check before training (`checkListedFiles`): an annotation list on local disk (a full split or a
   * 1%/10% subset) that names files which are not there is one error (how many, the first three), not a failure at
   * the first batch that reads one. `skip_corrupt` skips them instead.
   * @throws ConfigError naming the count and the first three files with their list lines.
   */
  checkListedFiles(): void {
    if (this.fc !== diskBackend || !this.annFile || this.skipCorrupt) return;
    const missing: string[] = [];
    this.infos.forEach((_, i) => {
      if (!existsSync(this.pathOf(i))) missing.push(this.describe(i));
    });
    if (missing.length === 0) return;
    const lists = this.annFiles().join(', ');
    throw new ConfigError(`${this.type}: ${missing.length} of ${this.infos.length} files listed in ${lists} do not exist (first: ${missing.slice(0, 3).join(', ')}); check data_prefix and the list, or set skip_corrupt`, { code: 'MISSING_FILES' });
  }

  getLabel(idx: number): number {
    return this.infos[idx].label;
  }

  getLabels(idx: number): number[] {
    return this.infos[idx].labels ?? [this.infos[idx].label];
  }

  getGtLabels(): Int32Array {
    return Int32Array.from(this.infos, (i) => i.label);
  }

  protected pathOf(idx: number): string {
    const f = this.infos[idx].filename;
    return this.dataPrefix && !/^[a-z0-9]+:\/\//i.test(f) && !f.startsWith('/') ? this.fc!.join(this.dataPrefix, f) : f;
  }

  describe(idx: number): string {
    const info = this.infos[idx];
    return `${this.pathOf(idx)}${info.origin ? ` (${info.origin})` : ''}`;
  }

  async getImage(idx: number): Promise<Image> {
    const path = this.pathOf(idx);
    let bytes: Uint8Array;
    try {
      bytes = await this.fc!.get(path);
    } catch (e) {
      throw new SslError(`cannot read image ${this.describe(idx)}: ${(e as Error).message}`, { code: 'MISSING_IMAGE', cause: e });
    }
    const img = await decodeImage(bytes, this.describe(idx), this.colorType);
    if (this.channelOrder === 'bgr' && img.channels === 3) {
      const d = img.data as Uint8Array;
      for (let i = 0; i < d.length; i += 3) [d[i], d[i + 2]] = [d[i + 2], d[i]];
    }
    return img;
  }

  /** Lines of an annotation file with their 1-based numbers (blank lines dropped). */
  protected async annLines(fc: FileBackend, file: string): Promise<{ text: string; no: number }[]> {
    let text: string;
    try {
      text = await fc.getText(file);
    } catch (e) {
      throw new ConfigError(`${this.type}: cannot read ann_file ${file}: ${(e as Error).message}`);
    }
    return text
      .split(/\r?\n/)
      .map((t, i) => ({ text: t.trim(), no: i + 1 }))
      .filter((l) => l.text.length > 0);
  }

  /** mmcls find_folders + get_samples: class sub-folders (sorted) of images. */
  protected async scanFolders(fc: FileBackend, recursive: boolean): Promise<Info[]> {
    let entries: { name: string; dir: boolean }[];
    try {
      entries = await fc.list(this.dataPrefix);
    } catch (e) {
      throw new ConfigError(`${this.type}: data_prefix ${this.dataPrefix} is not a readable directory (${(e as Error).message})`);
    }
    const folders = entries.filter((e) => e.dir).map((e) => e.name);
    if (folders.length === 0) throw new ConfigError(`${this.type}: no class sub-folders in ${this.dataPrefix}; give an ann_file or a folder per class`);
    this.CLASSES ??= folders;
    const infos: Info[] = [];
    const walk = async (rel: string, label: number) => {
      const list = await fc.list(fc.join(this.dataPrefix, rel));
      for (const e of list) {
        const child = `${rel}/${e.name}`;
        if (e.dir) {
          if (recursive) await walk(child, label);
        } else if (IMG_EXTENSIONS.some((x) => e.name.toLowerCase().endsWith(x))) infos.push({ filename: child, label });
      }
    };
    for (let k = 0; k < folders.length; k++) await walk(folders[k], k);
    if (infos.length === 0) throw new ConfigError(`${this.type}: found 0 images (${IMG_EXTENSIONS.join(', ')}) in the sub-folders of ${this.dataPrefix}`);
    return infos;
  }

  protected annFiles(): string[] {
    return this.annFile === undefined || this.annFile === null ? [] : Array.isArray(this.annFile) ? this.annFile : [this.annFile];
  }
}

function parseLabel(s: string, file: string, no: number, line: string): number {
  if (!/^-?\d+$/.test(s)) throw new ConfigError(`${file}:${no}: cannot parse "${line}": expected "<path> <integer label>"`);
  return Number(s);
}

/** MMSelfSup ImageNet: class sub-folders of `data_prefix`, or an `ann_file` of `path label` lines. */
export class ImageNet extends FileSource {
  readonly type: string = 'ImageNet';
  constructor(args: Record<string, unknown>, typeName = 'ImageNet', extra: string[] = []) {
    super(typeName, args, extra);
  }
  protected async load(fc: FileBackend): Promise<Info[]> {
    const files = this.annFiles();
    if (files.length === 0) return this.scanFolders(fc, false);
    const infos: Info[] = [];
    for (const file of files) {
      for (const { text, no } of await this.annLines(fc, file)) {
        const cut = text.lastIndexOf(' ');
        if (cut < 0) throw new ConfigError(`${file}:${no}: cannot parse "${text}": expected "<path> <integer label>"`);
        infos.push({ filename: text.slice(0, cut).trim(), label: parseLabel(text.slice(cut + 1), file, no, text), origin: `${file}:${no}` });
      }
    }
    return infos;
  }
}

/** MMSelfSup ImageList: `ann_file` (one or a list) of `path [label]` lines; labels optional (-1). */
export class ImageList extends FileSource {
  readonly type = 'ImageList';
  constructor(args: Record<string, unknown>) {
    super('ImageList', args);
    if (this.annFiles().length === 0) throw new ConfigError('ImageList needs an ann_file');
  }
  protected async load(fc: FileBackend): Promise<Info[]> {
    const infos: Info[] = [];
    for (const file of this.annFiles()) {
      const lines = await this.annLines(fc, file);
      const hasLabels = lines.length > 0 && lines[0].text.split(/\s+/).length === 2;
      for (const { text, no } of lines) {
        const parts = text.split(/\s+/);
        if (parts.length !== (hasLabels ? 2 : 1)) throw new ConfigError(`${file}:${no}: cannot parse "${text}": expected "<path>${hasLabels ? ' <label>' : ''}" like line 1`);
        infos.push({ filename: parts[0], label: hasLabels ? parseLabel(parts[1], file, no, text) : -1, origin: `${file}:${no}` });
      }
    }
    return infos;
  }
}

/**
 * MMSelfSup ImageNet21k: like ImageNet, with `recursion_subdir` (images in nested folders of each
 * class) and `multi_label` (ann_file lines `path l1 l2 ...`; `getLabels` gives all, the label is the first).
 */
export class ImageNet21k extends ImageNet {
  override readonly type = 'ImageNet21k';
  private readonly recursive: boolean;
  private readonly multiLabel: boolean;
  constructor(args: Record<string, unknown>) {
    super(args, 'ImageNet21k', ['multi_label', 'recursion_subdir']);
    this.recursive = Boolean(args.recursion_subdir);
    this.multiLabel = Boolean(args.multi_label);
  }
  protected override async load(fc: FileBackend): Promise<Info[]> {
    const files = this.annFiles();
    if (files.length === 0) return this.scanFolders(fc, this.recursive);
    if (!this.multiLabel) return super.load(fc);
    const infos: Info[] = [];
    for (const file of files) {
      for (const { text, no } of await this.annLines(fc, file)) {
        const [filename, ...ls] = text.split(/\s+/);
        const labels = ls.map((s) => parseLabel(s, file, no, text));
        infos.push({ filename, label: labels[0] ?? -1, labels, origin: `${file}:${no}` });
      }
    }
    return infos;
  }
}
