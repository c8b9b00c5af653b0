/**
 * The fake cluster's kubelet: "runs" a pod's container as a local process with the environment the
 * real node would give it (env, valueFrom, envFrom secrets, hostname), its volumes as local directories
 * (configMap keys written as files, PVCs and emptyDirs as folders) and container paths mapped onto them.
 * Cluster DNS names in MASTER_ADDR-like variables resolve to 127.0.0.1 (every pod shares this host).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';

export type Obj = Record<string, any>;

export interface KubeletEnv {
  /** Container path prefix -> local directory: the image's file system (e.g. '/opt/ssl' -> the repo). */
  imageRoot: Record<string, string>;
  /** Local directory for volumes. */
  workRoot: string;
  /** Reads a stored object (secrets, configmaps). */
  get(resource: string, ns: string, name: string): Obj | undefined;
  /** Resolves a cluster DNS name to 127.0.0.1 when it names a Service or `<pod hostname>.<subdomain>`. */
  resolves(host: string, ns: string): boolean;
  /** Delay before a container starts (image pull, scheduling), so `Created` is observable. */
  startDelayMs: number;
}

/** One running container: its process, its log and the log followers. */
export class Container {
  log = '';
  followers = new Set<ServerResponse>();
  proc?: ChildProcess;
  exited = false;
  /** The environment the process got (resolved like the kubelet does). */
  env: Record<string, string> = {};
  /** Pending start (cleared when the cluster stops first). */
  timer?: NodeJS.Timeout;

  write(chunk: string): void {
    this.log += chunk;
    for (const f of this.followers) f.write(chunk);
  }

  end(): void {
    this.exited = true;
    for (const f of this.followers) f.end();
    this.followers.clear();
  }
}

const now = () => new Date().toISOString();

function mapPath(value: string, mounts: [string, string][]): string {
  for (const [from, to] of mounts) {
    if (value === from) return to;
    if (value.startsWith(`${from}/`)) return to + value.slice(from.length);
  }
  return value;
}

function fieldRef(pod: Obj, path: string): string | undefined {
  const ann = /^metadata\.annotations\['(.+)'\]$/.exec(path);
  if (ann) return pod.metadata.annotations?.[ann[1]];
  const lab = /^metadata\.labels\['(.+)'\]$/.exec(path);
  if (lab) return pod.metadata.labels?.[lab[1]];
  if (path === 'metadata.name') return pod.metadata.name;
  if (path === 'metadata.namespace') return pod.metadata.namespace;
  return undefined;
}

const secretValue = (secret: Obj | undefined, key: string): string | undefined =>
  secret?.stringData?.[key] ?? (secret?.data?.[key] !== undefined ? Buffer.from(secret.data[key], 'base64').toString() : undefined);

/** Resolves the container's environment like the kubelet; throws (CreateContainerConfigError) when a Secret is missing. */
function containerEnv(pod: Obj, c: Obj, k: KubeletEnv): Record<string, string> {
  const ns = pod.metadata.namespace;
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const s = k.get('secrets', ns, from.secretRef?.name);
    if (!s) throw new Error(`secret "${from.secretRef?.name}" not found`);
    for (const key of Object.keys({ ...s.data, ...s.stringData })) env[key] = secretValue(s, key)!;
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = String(e.value);
    else if (e.valueFrom?.fieldRef) env[e.name] = fieldRef(pod, e.valueFrom.fieldRef.fieldPath) ?? '';
    else if (e.valueFrom?.secretKeyRef) {
      const v = secretValue(k.get('secrets', ns, e.valueFrom.secretKeyRef.name), e.valueFrom.secretKeyRef.key);
      if (v !== undefined) env[e.name] = v;
      else if (!e.valueFrom.secretKeyRef.optional) throw new Error(`secret key ${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key} not found`);
    } else env[e.name] = '';
  }
  for (const name of ['MASTER_ADDR', 'PET_MASTER_ADDR']) {
    if (env[name] && k.resolves(env[name], ns)) env[name] = '127.0.0.1';
  }
  return env;
}

/** Volumes as local directories; returns [mountPath, localDir] pairs (longest first) plus the image root. */
function mountVolumes(pod: Obj, c: Obj, k: KubeletEnv): [string, string][] {
  const podDir = join(k.workRoot, 'pods', pod.metadata.name);
  const dirs: Record<string, string> = {};
  for (const v of pod.spec.volumes ?? []) {
    let dir: string;
    if (v.configMap) {
      const cm = k.get('configmaps', pod.metadata.namespace, v.configMap.name);
      if (!cm) throw new Error(`configmap "${v.configMap.name}" not found`);
      dir = join(podDir, 'volumes', v.name);
      mkdirSync(dir, { recursive: true });
      for (const [key, text] of Object.entries(cm.data ?? {})) writeFileSync(join(dir, key), String(text));
    } else if (v.persistentVolumeClaim) {
      dir = join(k.workRoot, 'pvc', v.persistentVolumeClaim.claimName);
    } else {
      dir = join(podDir, 'volumes', v.name);
    }
    mkdirSync(dir, { recursive: true });
    dirs[v.name] = dir;
  }
  const mounts: [string, string][] = (c.volumeMounts ?? []).map((m: Obj) => [m.mountPath, dirs[m.name]]);
  mounts.push(...Object.entries(k.imageRoot));
  return mounts.sort((a, b) => b[0].length - a[0].length);
}

/**
 * Starts the pod's first container after `startDelayMs`; `onExit(code)` when it ends.
 * Updates `pod.status` as the kubelet would (Pending/ContainerCreating -> Running -> Succeeded/Failed).
 */
export function runPod(pod: Obj, k: KubeletEnv, onChange: () => void, onExit: (code: number) => void): Container {
  const c = pod.spec.containers[0];
  const box = new Container();
  const waiting = (reason: string, message?: string) => [{ name: c.name, ready: false, restartCount: 0, image: c.image, imageID: '', state: { waiting: { reason, message } } }];
  pod.status = { phase: 'Pending', containerStatuses: waiting('ContainerCreating') };
  box.timer = setTimeout(() => {
    if (pod.metadata.deletionTimestamp) return;
    let env: Record<string, string>;
    let mounts: [string, string][];
    try {
      mounts = mountVolumes(pod, c, k);
      env = containerEnv(pod, c, k);
    } catch (e) {
      pod.status.containerStatuses = waiting('CreateContainerConfigError', (e as Error).message);
      onChange();
      return;
    }
    const argv = [...(c.command ?? []), ...(c.args ?? [])].map((a: string) => mapPath(a, mounts));
    for (const key of Object.keys(env)) env[key] = mapPath(env[key], mounts);
    box.env = env;
    const exe = argv[0] === 'node' ? process.execPath : argv[0];
    const hostname = pod.spec.hostname ?? pod.metadata.name;
    const cwd = c.workingDir ? mapPath(c.workingDir, mounts) : (Object.values(k.imageRoot)[0] ?? k.workRoot);
    const proc = spawn(exe, argv.slice(1), { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(k.workRoot, 'home'), HOSTNAME: hostname, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    box.proc = proc;
    proc.stdout!.on('data', (d: Buffer) => box.write(d.toString()));
    proc.stderr!.on('data', (d: Buffer) => box.write(d.toString()));
    const startedAt = now();
    pod.status = {
      phase: 'Running',
      startTime: startedAt,
      podIP: '127.0.0.1',
      containerStatuses: [{ name: c.name, ready: true, restartCount: 0, image: c.image, imageID: '', started: true, state: { running: { startedAt } } }],
    };
    onChange();
    proc.on('close', (code, signal) => {
      const exitCode = code ?? (signal ? 128 + (({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2 }) as Record<string, number>)[signal] : 1);
      pod.status = {
        ...pod.status,
        phase: exitCode === 0 ? 'Succeeded' : 'Failed',
        containerStatuses: [
          { name: c.name, ready: false, restartCount: 0, image: c.image, imageID: '', started: false, state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt, finishedAt: now() } } },
        ],
      };
      box.end();
      onExit(exitCode);
    });
  }, k.startDelayMs);
  return box;
}
