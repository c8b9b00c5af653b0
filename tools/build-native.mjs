#!/usr/bin/env node
// Builds the native engine's addon (native/, over Debian's oneDNN) when the project installs.
// Never fails the install: without libdnnl-dev or a C++ compiler it writes the reason to
// native/build/why-not-built.txt (the backend log line and `--backend native` quote it) and exits 0.
// `npm run build:native` runs it by hand; SSL_NATIVE_BUILD=0 skips it; --strict exits 1 on failure.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const native = join(root, 'native');
const whyFile = join(native, 'build', 'why-not-built.txt');
const strict = process.argv.includes('--strict');

function giveUp(why) {
  mkdirSync(dirname(whyFile), { recursive: true });
  writeFileSync(whyFile, `${why}\n`);
  console.log(`ssl: native engine not built: ${why}; ssl will run on the wasm backend`);
  process.exit(strict ? 1 : 0);
}

if (process.env.SSL_NATIVE_BUILD === '0') giveUp('SSL_NATIVE_BUILD=0 was set at install');
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
if (!existsSync('/usr/include/dnnl.hpp') && !existsSync('/usr/local/include/dnnl.hpp')) giveUp('oneDNN headers (dnnl.hpp) were not found at install: libdnnl-dev is not installed');
for (const tool of ['c++', 'make']) if (!has(tool)) giveUp(`no ${tool} was found at install`);

// node-gyp: the copy npm runs lifecycle scripts with, else npm's bundled one.
const require = createRequire(import.meta.url);
const candidates = [process.env.npm_config_node_gyp, join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
try {
  candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
} catch {}
const gyp = candidates.find((p) => p && existsSync(p));
if (!gyp) giveUp('node-gyp was not found (it ships with npm)');

// Node's own headers, so node-gyp needs no download (machines without internet).
const nodeDir = join(dirname(process.execPath), '..');
const args = [gyp, 'rebuild', `--directory=${native}`];
if (existsSync(join(nodeDir, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${nodeDir}`);
rmSync(whyFile, { force: true });
const r = spawnSync(process.execPath, args, { cwd: native, encoding: 'utf8', env: { ...process.env, JOBS: '2' } });
if (r.status !== 0) {
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /error/i.test(l) && !/gyp ERR! (stack|System|command|cwd|node -v|node-gyp -v|not ok)/.test(l));
  giveUp(`the addon failed to compile: ${(lines[0] ?? `node-gyp exited ${r.status}`).trim()}`);
}
console.log('ssl: native engine built (native/build/Release/ssl_native.node)');
