/** Trains a seed config for 2 iterations on the synthetic source (the MIM config tests share it). */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/index.js';
import { runWorker } from '../../../src/runner/worker-main.js';
import { tempDir } from '../../runner/helpers.js';

/** Trains; `log` is the work dir's log, or what the worker printed when it stopped before keeping one. */
export async function trainTwoIterations(file: string, opts: string[], edit: (cfg: Record<string, any>) => void = () => {}): Promise<{ code: number; log: string }> {
  const cfg = loadConfig(file, { cfgOptions: opts }) as Record<string, any>;
  cfg.data.train.data_source = { type: 'SyntheticShapes', num_samples: 2 * cfg.data.samples_per_gpu, image_size: 40, num_classes: 4 };
  if (cfg.data.val) cfg.data.val.data_source = { type: 'SyntheticShapes', num_samples: 4, image_size: 40, num_classes: 4, seed: 1 };
  cfg.data.workers_per_gpu = 0;
  edit(cfg);
  const dir = tempDir('ssl-mim-cfg-');
  writeFileSync(join(dir, 'cfg.json'), JSON.stringify(cfg));
  let output = '';
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((st) => st.write.bind(st));
  for (const st of streams) (st as { write: unknown }).write = (chunk: string | Uint8Array) => ((output += String(chunk)), true);
  let code: number;
  try {
    code = await runWorker(['--config', join(dir, 'cfg.json'), '--work-dir', join(dir, 'w'), '--backend', 'wasm', '--seed', '0']);
  } finally {
    streams.forEach((st, i) => ((st as { write: unknown }).write = writes[i]));
  }
  if (!existsSync(join(dir, 'w'))) return { code, log: output };
  const log = readdirSync(join(dir, 'w')).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(dir, 'w', f), 'utf8')).join('\n');
  return { code, log };
}

