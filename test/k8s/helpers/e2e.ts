import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

export const ROOT = resolve('.');

/** The tiny synthetic config the trainer ships, if it is there yet. */
export function tinyConfig(): string | undefined {
  const f = join(ROOT, 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml');
  return existsSync(f) ? f : undefined;
}

/**
 * Whether the real per-node agent and worker can run (agent + worker in bin/, compiled lib/, a tiny config):
 * then the fake cluster's "image" is this repository; otherwise the test stand-in under fixtures/image.
 */
export function realImage(): boolean {
  return (
    existsSync(join(ROOT, 'bin/ssl-agent.js')) &&
    existsSync(join(ROOT, 'bin/ssl-worker.js')) &&
    existsSync(join(ROOT, 'lib/src/runner/worker-main.js')) &&
    existsSync(join(ROOT, 'lib/launchers/local/agent.js')) &&
    tinyConfig() !== undefined &&
    process.env.SSL_K8S_E2E_STANDIN !== '1'
  );
}

export const imageRoot = (): string => (realImage() ? ROOT : join(ROOT, 'test/k8s/fixtures/image'));

/** A config to train: the tiny one, or (stand-in image) a small YAML written into `dir`. */
export function e2eConfig(dir: string): string {
  const tiny = tinyConfig();
  if (realImage() && tiny) return tiny;
  mkdirSync(dir, { recursive: true });
  const f = join(dir, 'tiny_synthetic.yaml');
  writeFileSync(f, 'model:\n  type: SimCLR\nrunner:\n  type: IterBasedRunner\n  max_iters: 2\n');
  return f;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Collects everything written to it. */
export class Capture {
  text = '';
  write(chunk: string | Buffer): boolean {
    this.text += chunk.toString();
    return true;
  }
}
