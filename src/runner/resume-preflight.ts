/**
 * `ssl train`'s check of every checkpoint a run would read, before anything is written (launchers
 * none and local, whose files are on this machine): `--resume-from` / `resume_from`, what
 * `--auto-resume` finds, `--load-from` / `load_from`; s3:// objects must exist.
 */
import { SslError } from '../errors.js';
import { checkCheckpointFile, checkTorchCheckpointFile, onlyCorruptMessage, scanCheckpoints } from './checkpoint-check.js';
import { looksLikeZip } from '../engine/pth/zip-archive.js';

export interface ResumeInputs {
  resumeFrom?: string | undefined;
  loadFrom?: string | undefined;
  autoResume: boolean;
  autoResumeFreshOk: boolean;
  workDir: string;
  /** `--s3`: auto-resume may find its checkpoint there (the worker looks). */
  s3?: string | undefined;
  s3Endpoint?: string | undefined;
  cfg: Record<string, unknown>;
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

async function checkS3Object(uri: string, what: string, endpoint: string | undefined): Promise<void> {
  const [{ HeadObjectCommand }, { createS3Client }, { parseS3Uri }] = await Promise.all([
    import('@aws-sdk/client-s3'),
    import('../storage/client.js'),
    import('../storage/uri.js'),
  ]);
  const { bucket, key } = parseS3Uri(uri);
  const client = createS3Client({ endpoint });
  try {
    await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch (e) {
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    // only a definite "no such object" fails here; anything else (network, credentials) the worker reports
    if (status === 404) throw new SslError(`${what}: ${uri} does not exist (no such object)`, { code: 'NO_CHECKPOINT' });
  } finally {
    client.destroy();
  }
}

async function check(path: string, what: string, needMeta: boolean, endpoint: string | undefined): Promise<void> {
  if (path.startsWith('s3://')) await checkS3Object(path, what, endpoint);
  else if (looksLikeZip(path)) await checkTorchCheckpointFile(path, what, { needMeta });
  else checkCheckpointFile(path, what, { needMeta });
}

/** @throws SslError (one line naming the setting, the path and what is wrong) for the first bad input. */
export async function preflightResume(i: ResumeInputs): Promise<void> {
  let resume: string | undefined;
  if (i.resumeFrom) {
    await check(i.resumeFrom, '--resume-from', true, i.s3Endpoint);
    return checkLoad(i, true);
  }
  if (i.autoResume) {
    const scan = scanCheckpoints(i.workDir);
    if (scan.latest) resume = scan.latest;
    else if (scan.corrupt.length > 0 && !i.autoResumeFreshOk && !i.s3) {
      throw new SslError(`${onlyCorruptMessage(i.workDir, scan.corrupt)}; delete or replace them, or pass --auto-resume=fresh-ok to start from scratch`, { code: 'CORRUPT_CHECKPOINT' });
    }
  }
  const cfgResume = str(i.cfg.resume_from);
  if (!resume && cfgResume) {
    await check(cfgResume, 'resume_from', true, i.s3Endpoint);
    resume = cfgResume;
  }
  return checkLoad(i, resume !== undefined);
}

async function checkLoad(i: ResumeInputs, resuming: boolean): Promise<void> {
  // a resumed run ignores load_from (MMSelfSup)
  if (resuming) return;
  const load = i.loadFrom ?? str(i.cfg.load_from);
  if (load) await check(load, i.loadFrom ? '--load-from' : 'load_from', false, i.s3Endpoint);
}
