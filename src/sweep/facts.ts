import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { packageRoot } from '../../launchers/slurm/index.js';
import { effectiveBatch, newestJsonLog, readJsonLog } from './stages.js';

/** Instruction-set extensions that decide which kernels the engines use. */
const ISA_FLAGS = ['sse4_2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_bf16', 'amx_tile', 'neon', 'asimd'];

/** This machine: CPU model, the ISA extensions that matter, ssl's git revision. */
export function machineFacts(): Record<string, unknown> {
  let isa: string[] = [];
  if (existsSync('/proc/cpuinfo')) {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const flags = new Set((/^(flags|Features)\s*:\s*(.*)$/m.exec(text)?.[2] ?? '').split(/\s+/));
    isa = ISA_FLAGS.filter((f) => flags.has(f));
  }
  return { cpu_model: cpus()[0]?.model.trim() ?? 'unknown', cpu_isa: isa.join(' '), cpus: cpus().length, node: process.versions.node, git_revision: gitRevision() };
}

export function gitRevision(dir = packageRoot()): string {
  try {
    const rev = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return dirty ? `${rev}-dirty` : rev;
  } catch {
    return process.env.GITHUB_SHA ?? process.env.CI_COMMIT_SHA ?? 'unknown';
  }
}

/** What the train stage's JSON log says about the run: its reproduction contract (effective batch, lr as run, backend, precision, threads) and seed. */
export function runFacts(workDir: string): Record<string, unknown> {
  const log = newestJsonLog(workDir);
  if (!log) return {};
  const { header } = readJsonLog(log);
  const r = (header.reproduction ?? {}) as Record<string, unknown>;
  const cfg = (header.config ?? {}) as Record<string, any>;
  const b = effectiveBatch(header);
  return {
    effective_batch: b.total,
    batch_per_rank: b.perRank,
    ranks: b.ranks,
    accumulation: b.accumulation,
    lr: r.lr ?? cfg.optimizer?.lr,
    backend: r.backend ?? header.backend,
    precision: r.precision,
    threads: r.threads,
    seed: header.seed,
  };
}
