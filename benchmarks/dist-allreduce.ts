/**
 * All-reduce bandwidth between 2 local processes vs a plain loopback TCP copy of the same bytes,
 * both measured in this run. `npm run bench:dist` (after `npm run build`), or
 * `node lib/benchmarks/dist-allreduce.js [--floats 25600000] [--iters 7] [--rounds 3]`.
 * Each round measures the copy and the all-reduce back to back and gives one ratio; the median
 * ratio is the result (the copy's speed swings 2x between runs on this shared machine).
 *
 * algbw = bytes of the buffer / time of one all-reduce (nccl-tests' definition), median of iters.
 * copy  = bytes / time to send them from one process to another over 127.0.0.1 and get a 1-byte ack.
 */
import { spawn } from 'node:child_process';
import { createServer, connect, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { joinJob } from '../src/dist/create.js';
import { arg, median } from './bench-args.js';

const SELF = fileURLToPath(import.meta.url);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function child(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [SELF, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')} exited ${code}`))));
  });
}

/** Role: one rank of the all-reduce job; rank 0 prints the per-iteration seconds as JSON. */
async function allReduceRank(floats: number, iters: number): Promise<void> {
  const ctx = await joinJob({ timeoutS: 60 });
  const result: Record<string, number[]> = {};
  // 'shared': a buffer from ctx.allocate (what the trainer's gradient averaging uses); 'plain': any Float32Array (copied in and out).
  for (const kind of ['shared', 'plain']) {
    const data = kind === 'shared' ? ctx.allocate(floats) : new Float32Array(floats);
    data.fill(ctx.rank + 1);
    const times: number[] = [];
    for (let i = 0; i <= iters; i++) {
      ctx.barrier();
      const t0 = performance.now();
      ctx.allReduce(data, 'sum');
      const dt = (performance.now() - t0) / 1000;
      if (i > 0) times.push(dt); // the first is a warm-up
    }
    if (data[0] !== 3 * 2 ** iters || data[floats - 1] !== 3 * 2 ** iters) throw new Error(`wrong all-reduce result ${data[0]}`);
    result[kind] = times;
  }
  await ctx.close();
  if (ctx.rank === 0) process.stdout.write(JSON.stringify(result));
}

/** Role: receiver of the loopback copy; acks each full buffer with one byte. */
async function copyServer(port: number, bytes: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const server = createServer((s) => {
      let got = 0;
      s.on('data', (d: Buffer) => {
        got += d.length;
        while (got >= bytes) {
          got -= bytes;
          s.write(Buffer.of(1));
        }
      });
      s.on('close', () => {
        server.close();
        resolve();
      });
    }).listen(port, '127.0.0.1', () => process.stdout.write('listening\n'));
  });
}

/** Role: sender of the loopback copy; prints per-iteration seconds. */
async function copyClient(port: number, bytes: number, iters: number): Promise<void> {
  const buf = Buffer.alloc(bytes, 7);
  const s = connect({ port, host: '127.0.0.1' });
  s.setNoDelay(true);
  await new Promise((r) => s.once('connect', r));
  const times: number[] = [];
  for (let i = 0; i <= iters; i++) {
    const t0 = performance.now();
    const acked = new Promise((r) => s.once('data', r));
    s.write(buf);
    await acked;
    if (i > 0) times.push((performance.now() - t0) / 1000);
  }
  s.end();
  process.stdout.write(JSON.stringify(times));
}

async function main(): Promise<void> {
  const role = process.argv[2];
  const floats = arg('floats', 25_600_000);
  const iters = arg('iters', 7);
  const bytes = floats * 4;
  if (role === 'allreduce') return allReduceRank(floats, iters);
  if (role === 'copy-server') return copyServer(arg('port', 0), bytes);
  if (role === 'copy-client') return copyClient(arg('port', 0), bytes, iters);

  const rounds = arg('rounds', 3);
  const gb = bytes / 1e9;
  console.log(`all-reduce of ${floats} float32 (${(bytes / 1e6).toFixed(1)} MB) between 2 local processes, ${iters} timed iterations per measurement (median), ${rounds} rounds (copy and all-reduce alternate, order swapped every round):`);
  const ratios: Record<string, number[]> = { shared: [], plain: [] };
  for (let k = 0; k < rounds; k++) {
    let copyTimes: number[] = [];
    let ar: Record<string, number[]> = {};
    for (const what of k % 2 === 0 ? ['copy', 'allreduce'] : ['allreduce', 'copy']) {
      if (what === 'copy') copyTimes = await measureCopy(floats, iters);
      else ar = await measureAllReduce(floats, iters);
    }
    const copyBw = gb / median(copyTimes);
    const parts = [`copy ${(median(copyTimes) * 1000).toFixed(1)} ms (${copyBw.toFixed(2)} GB/s)`];
    for (const kind of ['shared', 'plain']) {
      const bw = gb / median(ar[kind]);
      ratios[kind].push(bw / copyBw);
      parts.push(`${kind} ${(median(ar[kind]) * 1000).toFixed(1)} ms (algbw ${bw.toFixed(2)} GB/s, ${((bw / copyBw) * 100).toFixed(0)}%)`);
    }
    console.log(`  round ${k + 1}: ${parts.join(', ')}`);
  }
  const pct = (xs: number[]) => `${(median(xs) * 100).toFixed(0)}% (rounds ${xs.map((x) => `${(x * 100).toFixed(0)}%`).join(' ')})`;
  console.log(`  all-reduce / loopback copy, buffer from ctx.allocate (what the trainer uses): median ${pct(ratios.shared)}; target >= 50%`);
  console.log(`  all-reduce / loopback copy, plain Float32Array (copied in and out):          median ${pct(ratios.plain)}`);
}

/** Loopback copy between two processes: per-iteration seconds. */
async function measureCopy(floats: number, iters: number): Promise<number[]> {
  const copyPort = await freePort();
  const server = spawn(process.execPath, [SELF, 'copy-server', '--port', String(copyPort), '--floats', String(floats)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const serverClosed = new Promise((r) => server.once('close', r));
  await new Promise<void>((r) => server.stdout.once('data', () => r()));
  const copyTimes = JSON.parse(await child(['copy-client', '--port', String(copyPort), '--floats', String(floats), '--iters', String(iters)])) as number[];
  await serverClosed;
  return copyTimes;
}

/** All-reduce between two processes (the DistContext the trainer uses: worker thread + ring): per-iteration seconds by buffer kind. */
async function measureAllReduce(floats: number, iters: number): Promise<Record<string, number[]>> {
  const port = await freePort();
  const common = ['--floats', String(floats), '--iters', String(iters)];
  const envOf = (rank: number) => ({ RANK: String(rank), WORLD_SIZE: '2', LOCAL_RANK: String(rank), LOCAL_WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), SSL_RUN_ID: 'bench' });
  const [out0] = await Promise.all([child(['allreduce', ...common], envOf(0)), child(['allreduce', ...common], envOf(1))]);
  return JSON.parse(out0) as Record<string, number[]>;
}

await main();
