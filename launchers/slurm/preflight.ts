import { closest } from 'fastest-levenshtein';
import { LauncherError } from '../../src/errors.js';
import { slurm } from './commands.js';
import type { ResolvedSlurmOptions } from './options.js';

/** One partition as `sinfo` reports it (nodes of differing shape merged: the largest node counts). */
export interface PartitionInfo {
  name: string;
  isDefault: boolean;
  up: boolean;
  nodes: number;
  maxCpusPerNode: number;
  maxGpusPerNode: number;
}

/** GPUs in a `sinfo %G` field (`gpu:8`, `gpu:a100:4(S:0-1)`, `gpu:2,mps:100`, `(null)`). */
export function gpusInGres(gres: string): number {
  let n = 0;
  for (const item of gres.split(',')) {
    const m = /^gpu(?::[^:(]+)?:(\d+)/.exec(item.trim());
    if (m) n += Number(m[1]);
  }
  return n;
}

/** Parses `sinfo -h -o '%P|%a|%D|%c|%G'` lines. */
export function parsePartitions(text: string): PartitionInfo[] {
  const byName = new Map<string, PartitionInfo>();
  for (const line of text.split('\n')) {
    const [rawName, avail, nodes, cpus, gres] = line.trim().split('|');
    if (!rawName || nodes === undefined) continue;
    const name = rawName.replace(/\*$/, '');
    const p = byName.get(name) ?? { name, isDefault: rawName.endsWith('*'), up: false, nodes: 0, maxCpusPerNode: 0, maxGpusPerNode: 0 };
    p.up ||= avail === 'up';
    p.nodes += Number(nodes) || 0;
    p.maxCpusPerNode = Math.max(p.maxCpusPerNode, Number(String(cpus).replace(/\+$/, '')) || 0);
    p.maxGpusPerNode = Math.max(p.maxGpusPerNode, gpusInGres(gres ?? ''));
    byName.set(name, p);
  }
  return [...byName.values()];
}

/**
 * Checks a request against the cluster before anything is submitted: the partition exists, and one of
 * its nodes has the GPUs and CPUs asked per node, and it has enough nodes. Throws one-line LauncherErrors.
 */
export function checkAgainstPartitions(o: ResolvedSlurmOptions, partitions: PartitionInfo[]): PartitionInfo {
  if (partitions.length === 0) throw new LauncherError('sinfo lists no partitions: is slurmctld reachable? (`sinfo` shows the cluster)');
  const names = partitions.map((p) => p.name);
  const p = o.partition ? partitions.find((x) => x.name === o.partition) : partitions.find((x) => x.isDefault);
  if (!p) {
    if (!o.partition) throw new LauncherError(`the cluster has no default partition; choose one with --partition (${names.join(', ')})`);
    throw new LauncherError(`unknown Slurm partition "${o.partition}": use --partition (or PARTITION) with one of ${names.join(', ')}`, {
      suggestions: [`did you mean ${closest(o.partition, names)}?`],
    });
  }
  if (o.gpusPerNode > p.maxGpusPerNode) {
    throw new LauncherError(
      `partition ${p.name} has at most ${p.maxGpusPerNode} GPU(s) per node, ${o.gpusPerNode} asked: lower --gpus-per-node (GPUS_PER_NODE)${p.maxGpusPerNode === 0 ? ' to 0 for CPU-only training' : ''}`,
    );
  }
  if (o.nodes > p.nodes) throw new LauncherError(`partition ${p.name} has ${p.nodes} node(s), ${o.nodes} asked: lower --nodes`);
  const cpus = o.tasksPerNode * (o.cpusPerTask ?? 1);
  if (p.maxCpusPerNode > 0 && cpus > p.maxCpusPerNode) {
    throw new LauncherError(
      `partition ${p.name} has at most ${p.maxCpusPerNode} CPUs per node, ${o.tasksPerNode} task(s) x ${o.cpusPerTask ?? 1} CPU(s) asked: lower --tasks-per-node or --cpus-per-task`,
    );
  }
  return p;
}

/** The cluster's partitions (`sinfo`); a LauncherError when sinfo is missing or slurmctld does not answer. */
export async function readPartitions(): Promise<PartitionInfo[]> {
  const r = await slurm('sinfo', ['-h', '-o', '%P|%a|%D|%c|%G'], { check: true, timeoutMs: 30_000 });
  return parsePartitions(r.stdout);
}

/** Reads the partitions with `sinfo` and checks `o` against them. */
export async function preflight(o: ResolvedSlurmOptions): Promise<PartitionInfo> {
  return checkAgainstPartitions(o, await readPartitions());
}
