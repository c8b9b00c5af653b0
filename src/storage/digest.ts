import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Digests of a local file, computed in one pass. */
export interface FileDigest {
  size: number;
  /** Hex SHA-256 of the whole file (stored as object metadata `sha256`). */
  sha256: string;
  /** ETags an S3-compatible store may return for this file uploaded with `partSize` parts: plain MD5, or AWS's multipart `md5(part md5s)-N`. */
  expectedEtags: string[];
}

/** Reads `path` once and returns its size, SHA-256 and the plausible S3 ETags for `partSize`-byte parts. */
export async function digestFile(path: string, partSize: number): Promise<FileDigest> {
  return digestChunks(createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>, partSize);
}

/** Same as {@link digestFile} for bytes in memory. */
export async function digestBytes(bytes: Uint8Array, partSize: number): Promise<FileDigest> {
  return digestChunks([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)], partSize);
}

async function digestChunks(chunks: AsyncIterable<Buffer> | Iterable<Buffer>, partSize: number): Promise<FileDigest> {
  const sha = createHash('sha256');
  const md5 = createHash('md5');
  const partMd5s: Buffer[] = [];
  let part = createHash('md5');
  let inPart = 0;
  let size = 0;
  for await (const chunk of chunks) {
    sha.update(chunk);
    md5.update(chunk);
    size += chunk.length;
    for (let off = 0; off < chunk.length; ) {
      const take = Math.min(partSize - inPart, chunk.length - off);
      part.update(chunk.subarray(off, off + take));
      inPart += take;
      off += take;
      if (inPart === partSize) {
        partMd5s.push(part.digest());
        part = createHash('md5');
        inPart = 0;
      }
    }
  }
  if (inPart > 0) partMd5s.push(part.digest());
  const whole = md5.digest('hex');
  const etags = [whole];
  if (partMd5s.length > 1) etags.push(`${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-${partMd5s.length}`);
  return { size, sha256: sha.digest('hex'), expectedEtags: etags };
}

/** SHA-256 (hex) of a byte buffer. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Strips the quotes S3 puts around ETags. */
export function bareEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/"/g, '');
}
