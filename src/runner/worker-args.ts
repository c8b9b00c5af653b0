import { SslError } from '../errors.js';

/** Parsed `bin/ssl-worker.js` arguments (the contract every launcher uses). */
export interface WorkerArgs {
  config: string;
  workDir: string;
  resumeFrom?: string;
  autoResume: boolean;
  /** `--auto-resume=fresh-ok`: when every checkpoint found is corrupt, start from scratch instead of failing. */
  autoResumeFreshOk: boolean;
  loadFrom?: string;
  seed?: number;
  deterministic: boolean;
  backend?: string;
  /** Native engine compute threads (`--threads`). */
  threads?: number;
  /** 'fp32' or 'bf16' (`--precision`). */
  precision?: string;
  s3?: string;
  s3Endpoint?: string;
  port?: number;
  /** Linear evaluation's fast path: cache the frozen backbone's pooled features in this directory and train the head on them. */
  featureCache?: string;
  /** Write the final evaluation to this JSON file (`ssl eval linear`: `WORK_DIR/eval/linear.json`). */
  evalResult?: string;
  /** SIGTERM also writes a checkpoint at the next iteration boundary (as SIGUSR1 always does). */
  checkpointOnSignal: boolean;
}

const VALUE_FLAGS = ['--config', '--work-dir', '--resume-from', '--load-from', '--seed', '--backend', '--threads', '--precision', '--s3', '--s3-endpoint', '--port', '--feature-cache', '--eval-result'];
const BOOL_FLAGS = ['--auto-resume', '--deterministic', '--checkpoint-on-signal'];

export const WORKER_USAGE =
  'usage: ssl-worker --config CFG --work-dir DIR [--resume-from CKPT] [--auto-resume[=fresh-ok]] [--load-from CKPT] [--seed N] ' +
  '[--deterministic] [--backend B] [--threads N] [--precision fp32|bf16] [--s3 s3://bucket/prefix] [--s3-endpoint URL] [--port N] [--checkpoint-on-signal] [--feature-cache DIR] [--eval-result FILE.json]';

/** Parses worker argv (`--flag value` or `--flag=value`). @throws SslError naming the bad flag. */
export function parseWorkerArgs(argv: string[]): WorkerArgs {
  const values = new Map<string, string>();
  const bools = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (arg === '--auto-resume' && inline !== undefined) {
      if (inline !== 'fresh-ok') throw new SslError(`--auto-resume takes no value or =fresh-ok, got "${inline}"`);
      bools.add('--auto-resume');
      bools.add('--auto-resume=fresh-ok');
    } else if (BOOL_FLAGS.includes(arg)) bools.add(arg);
    else if (VALUE_FLAGS.includes(arg)) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new SslError(`${arg} needs a value; ${WORKER_USAGE}`);
      values.set(arg, v);
    } else throw new SslError(`unknown worker argument "${arg}"; ${WORKER_USAGE}`);
  }
  const config = values.get('--config');
  const workDir = values.get('--work-dir');
  if (!config || !workDir) throw new SslError(`--config and --work-dir are required; ${WORKER_USAGE}`);
  const int = (flag: string): number | undefined => {
    const v = values.get(flag);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new SslError(`${flag} must be a non-negative integer, got "${v}"`);
    return n;
  };
  return {
    config,
    workDir,
    resumeFrom: values.get('--resume-from'),
    autoResume: bools.has('--auto-resume'),
    autoResumeFreshOk: bools.has('--auto-resume=fresh-ok'),
    loadFrom: values.get('--load-from'),
    seed: int('--seed'),
    deterministic: bools.has('--deterministic'),
    backend: values.get('--backend'),
    threads: int('--threads'),
    precision: values.get('--precision'),
    s3: values.get('--s3'),
    s3Endpoint: values.get('--s3-endpoint'),
    port: int('--port'),
    checkpointOnSignal: bools.has('--checkpoint-on-signal'),
    featureCache: values.get('--feature-cache'),
    evalResult: values.get('--eval-result'),
  };
}
