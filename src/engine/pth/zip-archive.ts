/**
 * Reads the records of a zip archive (PyTorch's `.pth` container) with yauzl, safely:
 * member names with `..`, absolute paths or backslashes are refused (yauzl), every entry's data
 * must lie inside the file, and a record is only allocated once its claimed size has been checked
 * against the file size (stored) or the largest deflate ratio (deflated), so a small file cannot
 * make us allocate gigabytes. Nothing is ever written to disk.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import yauzl from 'yauzl';
import { SslError } from '../../errors.js';

/** deflate cannot expand data by more than about 1032:1 (zlib technical details). */
const MAX_DEFLATE_RATIO = 1032;

export class ZipArchive {
  private constructor(
    private readonly zip: yauzl.ZipFile,
    private readonly fd: number,
    readonly path: string,
    readonly entries: Map<string, yauzl.Entry>,
    readonly fileSize: number,
  ) {}

  /** Opens `path` and reads its central directory. @throws SslError when it is not a readable zip. */
  static async open(path: string): Promise<ZipArchive> {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw new SslError(`cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { code: 'NO_CHECKPOINT' });
    }
    let zip: yauzl.ZipFile | undefined;
    try {
      zip = await new Promise<yauzl.ZipFile>((res, rej) =>
        yauzl.fromFd(fd, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: true }, (err, z) => (err ? rej(err) : res(z!))),
      );
      const entries = new Map<string, yauzl.Entry>();
      await new Promise<void>((res, rej) => {
        const z = zip!;
        z.on('entry', (e: yauzl.Entry) => {
          if (entries.has(e.fileName)) return rej(new Error(`duplicate member ${e.fileName}`));
          entries.set(e.fileName, e);
          z.readEntry();
        });
        z.on('end', () => res());
        z.on('error', rej);
        z.readEntry();
      });
      return new ZipArchive(zip, fd, path, entries, zip.fileSize);
    } catch (e) {
      // once yauzl holds the fd, closing the ZipFile closes it
      if (zip) zip.close();
      else closeSync(fd);
      throw new SslError(`${path} is not a readable PyTorch zip file (${(e as Error).message})`, { code: 'CORRUPT_CHECKPOINT' });
    }
  }

  /** The bytes of one record; the claimed size is checked before anything is allocated. */
  async read(name: string): Promise<Uint8Array> {
    const e = this.entries.get(name);
    if (!e) throw new SslError(`${this.path}: no member ${name} (truncated or not written by torch.save?)`, { code: 'CORRUPT_CHECKPOINT' });
    const fail = (msg: string): never => {
      throw new SslError(`${this.path}: member ${name} ${msg}`, { code: 'CORRUPT_CHECKPOINT' });
    };
    if (e.generalPurposeBitFlag & 1) fail('is encrypted');
    if (e.compressionMethod !== 0 && e.compressionMethod !== 8) fail(`uses compression method ${e.compressionMethod} (only stored or deflated)`);
    let start: number;
    try {
      start = (await this.zip.readLocalFileHeaderPromise(e, { minimal: true })).fileDataStart;
    } catch (err) {
      return fail(`cannot be read: ${(err as Error).message}`);
    }
    if (e.compressionMethod === 0) {
      if (start + e.uncompressedSize > this.fileSize) fail(`claims ${e.uncompressedSize} bytes, past the end of the ${this.fileSize}-byte file`);
      const out = Buffer.allocUnsafe(e.uncompressedSize);
      let off = 0;
      while (off < out.length) {
        const n = readSync(this.fd, out, off, out.length - off, start + off);
        if (n === 0) fail('is truncated');
        off += n;
      }
      return out;
    }
    if (e.uncompressedSize > e.compressedSize * MAX_DEFLATE_RATIO + 1024) fail(`claims ${e.uncompressedSize} bytes from ${e.compressedSize} compressed ones`);
    const chunks: Buffer[] = [];
    try {
      const stream = await this.zip.openReadStreamPromise(e);
      for await (const c of stream) chunks.push(c as Buffer);
    } catch (err) {
      fail(`cannot be inflated: ${(err as Error).message}`);
    }
    return Buffer.concat(chunks);
  }

  /** Closes the archive (and its file descriptor, which yauzl owns). */
  close(): void {
    this.zip.close();
  }
}

/** True when the file starts like a zip (local header or empty-archive signature). */
export function looksLikeZip(path: string): boolean {
  try {
    const fd = openSync(path, 'r');
    try {
      const b = Buffer.alloc(4);
      if (readSync(fd, b, 0, 4, 0) < 4) return false;
      return b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5);
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}
