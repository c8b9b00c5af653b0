/**
 * A small in-process Kubernetes API server (test code) speaking the JSON routes the k8s launcher uses,
 * with the controllers of controllers.ts and the kubelet of kubelet.ts behind it. The launcher reaches it
 * through the real @kubernetes/client-node via a kubeconfig ({@link FakeCluster.writeKubeconfig}).
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AdmissionError, type ClusterOps, admitJob, admitPyTorchJob, runIndexedJob, runPyTorchJob } from './controllers.js';
import { Container, type Obj, runPod } from './kubelet.js';
import { type TrainerOps, admitTrainJob, runTrainJob } from './trainer.js';
import { validateManifest } from '../helpers/schemas.js';

export interface FakeClusterOptions {
  /** Serve kubeflow.org/v1 PyTorchJob (the training operator is installed). Default true. */
  pytorchJobCrd?: boolean;
  /** Serve trainer.kubeflow.org/v1alpha1 TrainJob (Kubeflow Trainer v2 and JobSet are installed). Default false. */
  trainJobCrd?: boolean;
  /** ClusterTrainingRuntimes the cluster has (e.g. torch_distributed.yaml, parsed); namespaced TrainingRuntimes are created through the API. */
  runtimes?: Obj[];
  /** PET_MASTER_PORT the fake Trainer injects (29400 on a real cluster; pass a free port, all pods share this host). */
  trainerMasterPort?: number;
  /** Requests answered 403 Forbidden, as RBAC would: verb (create, get, list, delete, deletecollection, patch) and resource. */
  forbid?: { verb: string; resource: string }[];
  /** Container path prefix -> local dir (the image's file system). */
  imageRoot: Record<string, string>;
  /** Local directory for volumes and pod homes. */
  workRoot: string;
  /** Delay before containers start (default 300 ms), so the Created phase is observable. */
  startDelayMs?: number;
  /** Fault injection: kill this pod's process with SIGKILL this long after it started (a lost node). */
  killPod?: { name: RegExp; afterMs: number };
  /** Pods whose name matches are never scheduled (stay Pending), e.g. to keep their peers waiting. */
  unschedulable?: RegExp;
  /** Fault injection without a process: the pod's container prints `log` and exits with `code` (the first `times` matching pods; default all). */
  failPod?: { name: RegExp; code: number; log: string; times?: number };
}

const GROUPS: Record<string, string> = {
  pytorchjobs: 'kubeflow.org', jobs: 'batch', trainjobs: 'trainer.kubeflow.org', trainingruntimes: 'trainer.kubeflow.org', jobsets: 'jobset.x-k8s.io',
};
const KINDS: Record<string, string> = {
  configmaps: 'ConfigMap', services: 'Service', pods: 'Pod', secrets: 'Secret', jobs: 'Job', pytorchjobs: 'PyTorchJob', trainjobs: 'TrainJob',
  trainingruntimes: 'TrainingRuntime', jobsets: 'JobSet',
};
const API_VERSIONS: Record<string, string> = {
  jobs: 'batch/v1', pytorchjobs: 'kubeflow.org/v1', trainjobs: 'trainer.kubeflow.org/v1alpha1', trainingruntimes: 'trainer.kubeflow.org/v1alpha1', jobsets: 'jobset.x-k8s.io/v1alpha2',
};
/** Discovery documents of the CRD groups: group version -> [resource, kind, option that serves it]. */
const CRD_GROUPS: Record<string, [string, string, 'pytorchJobCrd' | 'trainJobCrd']> = {
  'kubeflow.org/v1': ['pytorchjobs', 'PyTorchJob', 'pytorchJobCrd'],
  'trainer.kubeflow.org/v1alpha1': ['trainjobs', 'TrainJob', 'trainJobCrd'],
};

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Equality-based label selectors (`a=b,c=d`), the only kind the launcher sends. */
function matchesSelector(obj: Obj, selector: string | null): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return obj.metadata?.labels?.[k] === v;
  });
}

function mergePatch(target: Obj, patch: Obj): Obj {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete target[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof target[k] === 'object' && target[k] !== null) mergePatch(target[k], v);
    else target[k] = v;
  }
  return target;
}

export class FakeCluster {
  readonly store = new Map<string, Obj>();
  readonly containers = new Map<string, Container>();
  /** Every request as `VERB resource[/name]` (verbs as RBAC names them). */
  readonly requests: string[] = [];
  private server?: Server;
  private rv = 1;
  private timers: NodeJS.Timeout[] = [];

  constructor(readonly opts: FakeClusterOptions) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e) => status(res, 500, 'InternalError', String(e)));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const c of this.containers.values()) clearTimeout(c.timer);
    for (const c of this.containers.values()) if (!c.exited) c.proc?.kill('SIGKILL');
    await Promise.all([...this.containers.values()].filter((c) => c.proc && !c.exited).map((c) => new Promise((r) => c.proc!.once('close', r))));
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  /** A kubeconfig for this server (context `fake`, namespace `ns`; client-node 1.x needs skip-TLS-verify to speak plain HTTP). */
  writeKubeconfig(file: string, namespace = 'default'): string {
    writeFileSync(
      file,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: ${this.url}\n    insecure-skip-tls-verify: true\nusers:\n- name: tester\n  user:\n    token: fake-token\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: tester\n    namespace: ${namespace}\ncurrent-context: fake\n`,
    );
    return file;
  }

  private serves(option: 'pytorchJobCrd' | 'trainJobCrd'): boolean {
    return option === 'pytorchJobCrd' ? this.opts.pytorchJobCrd !== false : this.opts.trainJobCrd === true;
  }

  get(resource: string, ns: string, name: string): Obj | undefined {
    return this.store.get(`${resource}/${ns}/${name}`);
  }

  list(resource: string, ns: string): Obj[] {
    return [...this.store.entries()].filter(([k]) => k.startsWith(`${resource}/${ns}/`)).map(([, v]) => v);
  }

  put(resource: string, obj: Obj): Obj {
    const ns = obj.metadata.namespace ?? 'default';
    obj.apiVersion ??= API_VERSIONS[resource] ?? 'v1';
    obj.kind ??= KINDS[resource];
    obj.metadata = { ...obj.metadata, namespace: ns, uid: obj.metadata.uid ?? randomUUID(), resourceVersion: String(this.rv++), creationTimestamp: new Date().toISOString() };
    this.store.set(`${resource}/${ns}/${obj.metadata.name}`, obj);
    return obj;
  }

  /**
   * Evicts a pod as a node drain or pre-emption does: the pod gets the DisruptionTarget condition and its container
   * SIGTERM (the kubelet's SIGKILL after the grace period is not simulated); the pod stays, Failed, when it exits.
   */
  evict(ns: string, name: string): void {
    const pod = this.get('pods', ns, name);
    const c = this.containers.get(`${ns}/${name}`);
    if (!pod || !c?.proc || c.exited) throw new Error(`pod ${ns}/${name} is not running`);
    pod.status.conditions = [...(pod.status.conditions ?? []), { type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler', lastTransitionTime: new Date().toISOString() }];
    c.proc.kill('SIGTERM');
  }

  addSecret(ns: string, name: string, stringData: Record<string, string>): void {
    this.put('secrets', { metadata: { name, namespace: ns }, type: 'Opaque', data: Object.fromEntries(Object.entries(stringData).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) });
  }

  /** Removes an object and, with cascading deletion, everything it owns (pods' processes are killed). */
  private remove(resource: string, ns: string, name: string, cascade: boolean): boolean {
    const obj = this.get(resource, ns, name);
    if (!obj) return false;
    this.store.delete(`${resource}/${ns}/${name}`);
    if (resource === 'pods') {
      obj.metadata.deletionTimestamp = new Date().toISOString();
      const c = this.containers.get(`${ns}/${name}`);
      if (c && !c.exited) c.proc?.kill('SIGTERM');
    }
    if (cascade) {
      for (const [key, o] of [...this.store.entries()]) {
        if ((o.metadata.ownerReferences ?? []).some((r: Obj) => r.uid === obj.metadata.uid)) {
          const [res, ons, oname] = key.split('/');
          this.remove(res, ons, oname, true);
        }
      }
    }
    return true;
  }

  /** The API server's validation of a TrainingRuntime against the CRD schema. */
  private admitRuntime(obj: Obj): void {
    try {
      validateManifest(obj);
    } catch (e) {
      throw new AdmissionError(`TrainingRuntime.trainer.kubeflow.org "${obj.metadata?.name}" is invalid: ${(e as Error).message}`);
    }
  }

  private ops(): TrainerOps {
    return {
      runtime: (ref, ns) =>
        ref.kind === 'TrainingRuntime' ? this.get('trainingruntimes', ns, ref.name) : (this.opts.runtimes ?? []).find((r) => r.metadata?.name === ref.name),
      masterPort: this.opts.trainerMasterPort ?? 29400,
      put: (resource, obj) => this.put(resource, obj),
      pods: (ns, pred) => this.list('pods', ns).filter(pred),
      deletePod: (ns, name) => this.remove('pods', ns, name, false),
      exists: (resource, ns, name) => this.get(resource, ns, name) !== undefined,
      startPod: (pod, onRunning, onExit) => {
        this.put('pods', pod);
        const fail = this.opts.failPod;
        if (fail && fail.name.test(pod.metadata.name) && (fail.times === undefined || fail.times-- > 0)) {
          this.containers.set(`${pod.metadata.namespace}/${pod.metadata.name}`, this.failingContainer(pod, fail, onRunning, onExit));
          return;
        }
        if (this.opts.unschedulable?.test(pod.metadata.name)) {
          pod.status = { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] };
          return;
        }
        const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
        const box = runPod(
          pod,
          {
            imageRoot: this.opts.imageRoot,
            workRoot: this.opts.workRoot,
            startDelayMs: this.opts.startDelayMs ?? 300,
            get: (r, ns, n) => this.get(r, ns, n),
            resolves: (host, ns) => this.resolves(host, ns),
          },
          () => {
            if (pod.status.phase === 'Running') {
              onRunning();
              const kill = this.opts.killPod;
              if (kill && kill.name.test(pod.metadata.name)) this.timers.push(setTimeout(() => box.proc?.kill('SIGKILL'), kill.afterMs));
            }
          },
          onExit,
        );
        this.containers.set(key, box);
      },
    };
  }

  /** A container that starts, prints `log` and exits with `code`, with the statuses a kubelet reports. */
  private failingContainer(pod: Obj, fail: { code: number; log: string }, onRunning: () => void, onExit: (code: number) => void): Container {
    const box = new Container();
    const c = pod.spec.containers[0];
    const base = { name: c.name, restartCount: 0, image: c.image, imageID: '' };
    pod.status = { phase: 'Pending', containerStatuses: [{ ...base, ready: false, state: { waiting: { reason: 'ContainerCreating' } } }] };
    const delay = this.opts.startDelayMs ?? 300;
    box.timer = setTimeout(() => {
      if (pod.metadata.deletionTimestamp) return;
      const startedAt = new Date().toISOString();
      pod.status = { phase: 'Running', startTime: startedAt, containerStatuses: [{ ...base, ready: true, started: true, state: { running: { startedAt } } }] };
      onRunning();
      box.write(fail.log);
      box.timer = setTimeout(() => {
        pod.status = {
          ...pod.status,
          phase: 'Failed',
          containerStatuses: [{ ...base, ready: false, started: false, state: { terminated: { exitCode: fail.code, reason: 'Error', startedAt, finishedAt: new Date().toISOString() } } }],
        };
        box.end();
        onExit(fail.code);
      }, 50);
    }, delay);
    return box;
  }

  /** Cluster DNS: a Service name, or `<pod hostname>.<subdomain service>`, optionally `.<ns>.svc.cluster.local`. */
  private resolves(host: string, ns: string): boolean {
    const short = host.replace(new RegExp(`\\.${ns}(\\.svc(\\.cluster\\.local)?)?$`), '');
    const parts = short.split('.');
    if (parts.length === 1) return Boolean(this.get('services', ns, parts[0]));
    if (parts.length === 2 && this.get('services', ns, parts[1])) {
      return this.list('pods', ns).some((p) => p.spec?.hostname === parts[0] && p.spec?.subdomain === parts[1]);
    }
    return false;
  }

  private async body(req: IncomingMessage): Promise<Obj> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString();
    return text ? JSON.parse(text) : {};
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url!, 'http://x');
    const method = req.method!;
    const crd = CRD_GROUPS[url.pathname.replace(/^\/apis\//, '')];
    if (crd && method === 'GET') {
      const [plural, kind, option] = crd;
      const groupVersion = url.pathname.replace(/^\/apis\//, '');
      this.requests.push(`get discovery/${groupVersion}`);
      if (!this.serves(option)) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
      return json(res, 200, {
        kind: 'APIResourceList', apiVersion: 'v1', groupVersion,
        resources: [{ name: plural, singularName: kind.toLowerCase(), namespaced: true, kind, verbs: ['create', 'delete', 'get', 'list', 'patch', 'watch'] }],
      });
    }
    const m = /^\/(?:api\/v1|apis\/(batch)\/v1|apis\/(kubeflow\.org)\/v1|apis\/(trainer\.kubeflow\.org)\/v1alpha1)\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?(?:\/(log))?$/.exec(url.pathname);
    if (!m) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
    const [, , , , ns, resource, name, sub] = m;
    if (resource === 'pytorchjobs' && !this.serves('pytorchJobCrd')) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
    if ((resource === 'trainjobs' || resource === 'trainingruntimes') && !this.serves('trainJobCrd')) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
    const verb = method === 'POST' ? 'create' : method === 'PUT' ? 'update' : method === 'PATCH' ? 'patch' : method === 'DELETE' ? (name ? 'delete' : 'deletecollection') : name ? 'get' : 'list';
    const rbacResource = sub ? `${resource}/${sub}` : resource;
    this.requests.push(`${verb} ${rbacResource}${name ? `/${name}` : ''}`);
    if ((this.opts.forbid ?? []).some((f) => f.verb === verb && f.resource === rbacResource)) {
      const group = GROUPS[resource];
      return status(res, 403, 'Forbidden', `${resource}${group ? `.${group}` : ''}${name ? ` "${name}"` : ''} is forbidden: User "tester" cannot ${verb} resource "${rbacResource}" in API group "${group ?? ''}" in the namespace "${ns}"`);
    }
    const notFound = () => status(res, 404, 'NotFound', `${resource}${GROUPS[resource] ? `.${GROUPS[resource]}` : ''} "${name}" not found`);

    if (sub === 'log') {
      const c = this.containers.get(`${ns}/${name}`);
      const pod = this.get('pods', ns, name!);
      if (!pod) return notFound();
      const container = url.searchParams.get('container') ?? pod.spec.containers[0].name;
      if (!pod.spec.containers.some((x: Obj) => x.name === container)) return status(res, 400, 'BadRequest', `container ${container} is not valid for pod ${name}`);
      if (!c || pod.status?.phase === 'Pending') return status(res, 400, 'BadRequest', `container "${container}" in pod "${name}" is waiting to start: ContainerCreating`);
      res.writeHead(200, { 'content-type': 'text/plain' });
      const tail = url.searchParams.get('tailLines');
      res.write(tail === null ? c.log : c.log.split(/(?<=\n)/).slice(-Number(tail)).join(''));
      if (url.searchParams.get('follow') === 'true' && !c.exited) c.followers.add(res);
      else res.end();
      return;
    }
    switch (verb) {
      case 'create': {
        const obj = await this.body(req);
        obj.metadata = { ...obj.metadata, namespace: ns };
        if (this.get(resource, ns, obj.metadata.name)) {
          return status(res, 409, 'AlreadyExists', `${resource}${GROUPS[resource] ? `.${GROUPS[resource]}` : ''} "${obj.metadata.name}" already exists`);
        }
        try {
          if (resource === 'pytorchjobs') admitPyTorchJob(obj);
          if (resource === 'jobs') admitJob(obj);
          if (resource === 'trainjobs') {
            // the API server validates a custom resource against its CRD's schema and CEL rules, then the Trainer's webhook runs
            try {
              validateManifest(obj);
            } catch (e) {
              throw new AdmissionError(`TrainJob.trainer.kubeflow.org "${obj.metadata.name}" is invalid: ${(e as Error).message}`);
            }
            admitTrainJob(obj, this.ops());
          }
          if (resource === 'trainingruntimes') this.admitRuntime(obj);
        } catch (e) {
          if (e instanceof AdmissionError) return status(res, 422, 'Invalid', e.message);
          throw e;
        }
        this.put(resource, obj);
        json(res, 201, obj);
        if (resource === 'pytorchjobs') runPyTorchJob(obj, this.ops());
        if (resource === 'jobs') runIndexedJob(obj, this.ops());
        if (resource === 'trainjobs') runTrainJob(obj, this.ops());
        return;
      }
      case 'update': {
        // PUT replaces the object; the update must name the resourceVersion it read (optimistic concurrency)
        const old = this.get(resource, ns, name!);
        if (!old) return notFound();
        const obj = await this.body(req);
        if (obj.metadata?.resourceVersion !== old.metadata.resourceVersion) {
          return status(res, 409, 'Conflict', `Operation cannot be fulfilled on ${resource}.${GROUPS[resource] ?? ''} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
        }
        try {
          if (resource === 'trainingruntimes') this.admitRuntime(obj);
          else throw new AdmissionError(`the fake API server does not update ${resource}`);
        } catch (e) {
          if (e instanceof AdmissionError) return status(res, 422, 'Invalid', e.message);
          throw e;
        }
        obj.metadata = { ...obj.metadata, namespace: ns, uid: old.metadata.uid };
        return json(res, 200, this.put(resource, obj));
      }
      case 'get': {
        const obj = this.get(resource, ns, name!);
        return obj ? json(res, 200, obj) : notFound();
      }
      case 'list': {
        const items = this.list(resource, ns).filter((o) => matchesSelector(o, url.searchParams.get('labelSelector')));
        return json(res, 200, { kind: `${KINDS[resource]}List`, apiVersion: API_VERSIONS[resource] ?? 'v1', metadata: { resourceVersion: String(this.rv) }, items });
      }
      case 'patch': {
        const obj = this.get(resource, ns, name!);
        if (!obj) return notFound();
        if (!String(req.headers['content-type']).startsWith('application/merge-patch+json')) return status(res, 415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json`);
        mergePatch(obj, await this.body(req));
        return json(res, 200, obj);
      }
      case 'delete': {
        const body = await this.body(req);
        const policy = url.searchParams.get('propagationPolicy') ?? body.propagationPolicy;
        // batch/v1 Jobs orphan their pods unless told otherwise; everything else cascades in the background.
        const cascade = resource === 'jobs' ? policy === 'Background' || policy === 'Foreground' : policy !== 'Orphan';
        const obj = this.get(resource, ns, name!);
        if (!obj || !this.remove(resource, ns, name!, cascade)) return notFound();
        return json(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success', details: { name, kind: resource } });
      }
      case 'deletecollection': {
        const items = this.list(resource, ns).filter((o) => matchesSelector(o, url.searchParams.get('labelSelector')));
        for (const o of items) this.remove(resource, ns, o.metadata.name, true);
        return json(res, 200, { kind: `${KINDS[resource]}List`, apiVersion: 'v1', metadata: {}, items });
      }
    }
  }
}
