import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client, type S3ClientOptions } from '../../src/storage/client.js';

/** s3rver's built-in account: it rejects any other access key id (InvalidAccessKeyId); it does not verify SigV4 signatures. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** A real S3-protocol server (s3rver) on 127.0.0.1, stoppable and restartable on the same port and directory. */
export class LocalS3 {
  readonly dir = mkdtempSync(join(tmpdir(), 'ssl-s3rver-'));
  port = 0;
  private server: { run(): Promise<{ port: number }>; close(): Promise<void>; httpServer?: { closeAllConnections(): void } } | undefined;

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const s = new S3rver({ address: '127.0.0.1', port: this.port, silent: true, directory: this.dir }) as unknown as NonNullable<LocalS3['server']>;
    const addr = await s.run();
    this.port = addr.port;
    this.server = s;
  }

  /** Stops the server, cutting open connections (requests in flight fail with a reset). */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    const closed = s.close();
    s.httpServer?.closeAllConnections();
    await closed;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** A client for this server (explicit s3rver credentials unless given). */
  client(opts: S3ClientOptions = {}): S3Client {
    return createS3Client({ endpoint: this.endpoint, credentials: S3RVER_CREDENTIALS, ...opts });
  }

  async createBucket(name: string): Promise<void> {
    const c = this.client();
    await c.send(new CreateBucketCommand({ Bucket: name }));
    c.destroy();
  }
}
