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
  /**
   * Evaluation mode (`ssl eval knn|svm` on a launcher): no training; every rank extracts its share of the
   * features, rank 0 computes the benchmark and writes `--eval-result`.
   */
  eval?: EvalWorkerOptions;
  /** SIGTERM also writes a checkpoint at the next iteration boundary (as SIGUSR1 always does). */
  checkpointOnSignal: boolean;
}

/** The worker's evaluation mode (`--eval knn|svm` and the evaluation's options). */
export interface EvalWorkerOptions {
  kind: 'knn' | 'svm';
  /** The weights to evaluate; none: the random initialisation. */
  checkpoint?: string;
  /** kNN: neighbours and vote temperature. */
  k?: number;
  temperature?: number;
  /** SVM: the backbone stage (feat1..feat5), the low-shot protocol, the cost list, a VOC tree, the first N training images. */
  features?: string;
  lowShot: boolean;
  costs?: number[];
  voc?: string;
  trainLimit?: number;
  /** SVM: also write the pooled features and targets as .npy (`--save-features`). */
  saveFeatures: boolean;
}

export const EVAL_KINDS = ['knn', 'svm'] as const;
const EVAL_VALUE_FLAGS = ['--eval', '--checkpoint', '--k', '--temperature', '--features', '--costs', '--voc', '--train-limit'];
const VALUE_FLAGS = ['--config', '--work-dir', '--resume-from', '--load-from', '--seed', '--backend', '--threads', '--precision', '--s3', '--s3-endpoint', '--port', '--feature-cache', '--eval-result', ...EVAL_VALUE_FLAGS];
const BOOL_FLAGS = ['--auto-resume', '--deterministic', '--checkpoint-on-signal', '--low-shot', '--save-features'];

export const WORKER_USAGE =
  'usage: ssl-worker --config CFG --work-dir DIR [--resume-from CKPT] [--auto-resume[=fresh-ok]] [--load-from CKPT] [--seed N] ' +
  '[--deterministic] [--backend B] [--threads N] [--precision fp32|bf16] [--s3 s3://bucket/prefix] [--s3-endpoint URL] [--port N] [--checkpoint-on-signal] [--feature-cache DIR] [--eval-result FILE.json] ' +
  '[--eval knn|svm --eval-result FILE.json [--checkpoint CKPT] [--k N] [--temperature T] [--features featN] [--low-shot] [--costs C1,C2] [--voc DIR] [--train-limit N] [--save-features]]';

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
    eval: evalOptions(values, bools, int),
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

function evalOptions(values: Map<string, string>, bools: Set<string>, int: (flag: string) => number | undefined): EvalWorkerOptions | undefined {
  const kind = values.get('--eval');
  const given = [...EVAL_VALUE_FLAGS.filter((f) => f !== '--eval' && values.has(f)), ...['--low-shot', '--save-features'].filter((f) => bools.has(f))];
  if (kind === undefined) {
    if (given.length > 0) throw new SslError(`${given[0]} belongs to the evaluation mode; add --eval ${EVAL_KINDS.join('|')}`);
    return undefined;
  }
  if (!(EVAL_KINDS as readonly string[]).includes(kind)) throw new SslError(`--eval must be one of ${EVAL_KINDS.join(', ')}, got "${kind}"`);
  if (!values.has('--eval-result')) throw new SslError('--eval needs --eval-result FILE.json (where rank 0 writes the result)');
  const notFor = kind === 'knn' ? ['--features', '--costs', '--voc', '--train-limit', '--low-shot', '--save-features'] : ['--k', '--temperature'];
  const wrong = given.find((f) => notFor.includes(f));
  if (wrong) throw new SslError(`${wrong} is not an option of --eval ${kind}`);
  const k = int('--k');
  if (k === 0) throw new SslError('--k must be a positive integer, got "0"');
  const t = values.get('--temperature');
  const temperature = t === undefined ? undefined : Number(t);
  if (temperature !== undefined && !(temperature > 0)) throw new SslError(`--temperature must be a positive number, got "${t}"`);
  const c = values.get('--costs');
  const costs = c === undefined ? undefined : c.split(',').map((x) => x.trim()).filter((x) => x !== '').map(Number);
  if (costs && costs.length === 0) throw new SslError('the SVM cost list is empty; give costs like --costs 1.0,10.0,100.0');
  if (costs?.some((x) => !(x > 0))) throw new SslError(`--costs must be positive numbers, got "${c}"`);
  const trainLimit = int('--train-limit');
  if (trainLimit === 0) throw new SslError('--train-limit must be a positive integer, got "0"');
  return {
    kind: kind as EvalWorkerOptions['kind'],
    checkpoint: values.get('--checkpoint'),
    k,
    temperature,
    features: values.get('--features'),
    lowShot: bools.has('--low-shot'),
    costs,
    voc: values.get('--voc'),
    trainLimit,
    saveFeatures: bools.has('--save-features'),
  };
}
