import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformFileSync } from '@swc/core';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function sourceFiles(path: string): string[] {
  if (!existsSync(path)) return [];
  if (statSync(path).isFile()) return /\.(ts|mjs|js|json)$/.test(path) && !path.endsWith('.d.ts') ? [path] : [];
  return readdirSync(path).flatMap((f) => sourceFiles(join(path, f)));
}

/**
 * Test files run in parallel and share the output folder: a child of one may be importing a file
 * another is writing, so files are replaced atomically (temp + rename), and only when they changed.
 */
function writeIfChanged(dest: string, text: string): void {
  if (existsSync(dest) && readFileSync(dest, 'utf8') === text) return;
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = `${dest}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, dest);
}

/**
 * Child processes and worker threads cannot run TypeScript: transpiles the given repo paths
 * (files or folders) with swc into a folder inside node_modules/.cache (so bare imports resolve
 * to the repo's node_modules) with the same layout, `.ts` -> `.js`. Returns that folder.
 */
export function compileForChildren(paths: string[] = ['src/dist', 'src/errors.ts', 'launchers/local', 'launchers/launcher.ts']): string {
  // one folder per checkout: git worktrees that link the main checkout's node_modules would otherwise
  // share it, and a child of one could import another checkout's compiled src
  const out = join(REPO, 'node_modules', '.cache', `ssl-dist-test-${createHash('sha1').update(REPO).digest('hex').slice(0, 10)}`);
  for (const p of paths) {
    for (const file of sourceFiles(join(REPO, p))) {
      if (!file.endsWith('.ts')) {
        writeIfChanged(join(out, relative(REPO, file)), readFileSync(file, 'utf8'));
        continue;
      }
      const { code } = transformFileSync(file, {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'es6' },
        sourceMaps: false,
      });
      writeIfChanged(join(out, relative(REPO, file)).replace(/\.ts$/, '.js'), code);
    }
  }
  return out;
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Spawns `node script args` and collects its output. */
export function runNode(script: string, args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<Finished> } {
  const t0 = Date.now();
  const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Finished>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 })));
  return { child, done };
}

/** True when the process with this pid is gone. */
export function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  // An exited process whose parent has not reaped it yet (a zombie, state Z) still answers signal 0;
  // orphans of a SIGKILLed agent wait for PID 1 to reap them, which some container inits do late.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}
