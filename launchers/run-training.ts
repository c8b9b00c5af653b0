import { getLauncher } from './index.js';
import { formatLogTail } from './log-tail.js';
import type { PreparedTrainJob } from './train-job.js';

/** The flags `ssl train` passes on: each launcher reads the ones it knows (kebab-case, as typed). */
export type LaunchFlags = Record<string, unknown> & {
  launcher: string;
  'dry-run'?: boolean;
  wait?: boolean;
  follow?: boolean;
};

/**
 * Builds the launcher's request for a prepared job, prints it (`--dry-run`) or submits it,
 * then follows/waits as asked. Returns the exit code for the CLI: the job's own when waited on.
 * The local launcher always waits: its workers are this process's children (as with torchrun).
 */
export async function submitTraining(prepared: PreparedTrainJob, flags: LaunchFlags, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const launcher = await getLauncher(flags.launcher, flags);
  const dry = await launcher.dryRun(prepared.job, flags);
  if (flags['dry-run']) {
    // The header goes to stderr so stdout is exactly the artefact (an sbatch script starts with #!).
    process.stderr.write(`ssl train --launcher ${launcher.name}: the request below would be submitted; nothing was submitted\n`);
    out.write(dry.render());
    if (!dry.render().endsWith('\n')) out.write('\n');
    return 0;
  }
  const handle = await launcher.submit(dry);
  process.stderr.write(`Submitted ${launcher.name} job ${handle.id} (work dir ${prepared.job.workDir})\n`);
  const waitForEnd = flags.wait || flags.follow || launcher.name === 'local';
  if (flags.follow) await launcher.logs(handle.id, out, { follow: true, rank: 0 });
  if (!waitForEnd) return 0;
  const status = await launcher.wait(handle.id);
  if (status.state !== 'SUCCEEDED') {
    process.stderr.write(`Job ${handle.id} ended ${status.state}${status.message ? `: ${status.message}` : ''}\n`);
    if (status.logTail?.lines.length) process.stderr.write(formatLogTail(status.logTail));
  }
  return status.exitCode ?? (status.state === 'SUCCEEDED' ? 0 : 1);
}
