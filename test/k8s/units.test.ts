import { translateError } from '../../launchers/k8s/client.js';
import { k8sOptionsFromFlags } from '../../launchers/k8s/options.js';
import { RankFilter } from '../../launchers/k8s/rank-filter.js';
import { firstFailureExitCode, indexedJobPhase, nodePod, parseJobId, pytorchJobPhase, trainJobPhase } from '../../launchers/k8s/status.js';
import { Capture } from './helpers/e2e.js';

test('options from `ssl train` flags (kebab-case) and from code (camelCase)', () => {
  expect(k8sOptionsFromFlags({ 'k8s-kind': 'indexed-job', 's3-secret': 's', 'job-name': 'j', pvc: 'p', namespace: 'n', context: 'c', image: 'i', wait: true, nodes: 2 })).toEqual({
    kind: 'indexed-job', s3Secret: 's', jobName: 'j', pvc: 'p', namespace: 'n', context: 'c', image: 'i',
  });
  expect(k8sOptionsFromFlags({ kind: 'pytorchjob', s3Secret: 's', pollIntervalMs: 10 })).toEqual({ kind: 'pytorchjob', s3Secret: 's', pollIntervalMs: 10 });
});

test('job ids: namespace/kind/name, kind/name or a bare name', () => {
  expect(parseJobId('ml/pytorchjob/a', 'default')).toEqual({ namespace: 'ml', kind: 'pytorchjob', name: 'a' });
  expect(parseJobId('indexed-job/a', 'ns')).toEqual({ namespace: 'ns', kind: 'indexed-job', name: 'a' });
  expect(parseJobId('a', 'ns')).toEqual({ namespace: 'ns', name: 'a' });
  expect(() => parseJobId('ml/volcano/a', 'ns')).toThrow(/not a Kubernetes job id/);
});

test('phases: PyTorchJob conditions and Indexed Job conditions/pods in the operator\'s words', () => {
  const cond = (type: string, status = 'True') => ({ type, status, message: `${type} msg` });
  expect(pytorchJobPhase({})).toMatchObject({ state: 'PENDING', phase: 'Submitted' });
  expect(pytorchJobPhase({ status: { conditions: [cond('Created'), cond('Running')] } })).toMatchObject({ state: 'RUNNING', phase: 'Running' });
  expect(pytorchJobPhase({ status: { conditions: [cond('Created'), cond('Running', 'False'), cond('Failed')] } })).toMatchObject({ state: 'FAILED', phase: 'Failed' });
  expect(pytorchJobPhase({ status: { conditions: [cond('Created'), cond('Running', 'False'), cond('Succeeded')] } })).toMatchObject({ state: 'SUCCEEDED' });
  const job = { spec: { parallelism: 2 }, status: { active: 2 } } as never;
  expect(indexedJobPhase(job, [])).toMatchObject({ state: 'PENDING', phase: 'Created' });
  expect(indexedJobPhase(job, [{ status: { phase: 'Running' } }])).toMatchObject({ state: 'RUNNING', detail: '1/2 pods running' });
  expect(indexedJobPhase({ status: { conditions: [{ type: 'FailureTarget', status: 'True', reason: 'PodFailurePolicy' }] } }, [])).toMatchObject({ state: 'FAILED', detail: 'PodFailurePolicy' });
  expect(indexedJobPhase({ status: { conditions: [{ type: 'Complete', status: 'True' }] } }, [])).toMatchObject({ state: 'SUCCEEDED' });
});

test('a job whose pods have all finished reads Running until its controller sets Complete or Failed, never Created again', () => {
  const done = [{ status: { phase: 'Succeeded' } }, { status: { phase: 'Succeeded' } }] as never;
  expect(indexedJobPhase({ spec: { parallelism: 2 }, status: { active: 0 } } as never, done)).toMatchObject({ state: 'RUNNING', phase: 'Running', detail: '0/2 pods running, 2 finished' });
  const trainJob = { spec: { trainer: { numNodes: 2 } } };
  expect(trainJobPhase(trainJob, done)).toMatchObject({ state: 'RUNNING', phase: 'Running' });
  expect(trainJobPhase(trainJob, [{ status: { phase: 'Running' } }, { status: { phase: 'Pending' } }] as never)).toMatchObject({ state: 'RUNNING', detail: '1/2 pods running' });
  expect(trainJobPhase(trainJob, [{ status: { phase: 'Pending' } }] as never)).toMatchObject({ state: 'PENDING', phase: 'Created' });
  expect(trainJobPhase({ ...trainJob, status: { conditions: [{ type: 'Complete', status: 'True' }] } }, done)).toMatchObject({ state: 'SUCCEEDED' });
});

test('the exit code of the first container that failed; the pod of a node', () => {
  const term = (code: number, at: string) => ({ status: { containerStatuses: [{ name: 'pytorch', state: { terminated: { exitCode: code, finishedAt: new Date(at) } } }] } });
  expect(firstFailureExitCode([term(0, '2026-01-01T00:00:03Z'), term(143, '2026-01-01T00:00:02Z'), term(137, '2026-01-01T00:00:01Z')] as never)).toBe(137);
  expect(firstFailureExitCode([term(0, '2026-01-01T00:00:01Z')] as never)).toBeUndefined();
  const pod = (name: string, index?: string, created = '2026-01-01T00:00:00Z') => ({ metadata: { name, creationTimestamp: new Date(created), annotations: index ? { 'batch.kubernetes.io/job-completion-index': index } : {} } });
  const pj = [pod('j-master-0'), pod('j-worker-0'), pod('j-worker-1')];
  expect(nodePod({ namespace: 'n', kind: 'pytorchjob', name: 'j' }, pj as never, 0)?.metadata?.name).toBe('j-master-0');
  expect(nodePod({ namespace: 'n', kind: 'pytorchjob', name: 'j' }, pj as never, 2)?.metadata?.name).toBe('j-worker-1');
  const ij = [pod('j-1-aaaaa', '1'), pod('j-1-bbbbb', '1', '2026-01-01T00:01:00Z'), pod('j-0-ccccc', '0')];
  expect(nodePod({ namespace: 'n', kind: 'indexed-job', name: 'j' }, ij as never, 1)?.metadata?.name).toBe('j-1-bbbbb');
});

test("a pod's log: with several ranks per pod only the asked rank's lines (and the agent's own) pass; the sink never ends the output", async () => {
  const out = new Capture();
  const f = new RankFilter(out as unknown as NodeJS.WritableStream, 9);
  f.write('[rank 8] a\n[rank 9] b\n[ssl ag');
  f.write('ent] c\n[rank 9] d');
  f.end();
  await new Promise((r) => f.on('finish', r));
  expect(out.text).toBe('[rank 9] b\n[ssl agent] c\n[rank 9] d');
  const all = new Capture();
  const g = new RankFilter(all as unknown as NodeJS.WritableStream);
  g.end('[rank 1] x\n');
  await new Promise((r) => g.on('finish', r));
  expect(all.text).toBe('[rank 1] x\n');
});

test('a 403 from an admission webhook is not reported as RBAC', () => {
  const at = { verb: 'create', resource: 'pytorchjobs.kubeflow.org', namespace: 'ml', server: 'https://k', context: 'c' };
  const webhook = { code: 403, body: JSON.stringify({ message: 'admission webhook "validator.pytorchjob.training-operator.kubeflow.org" denied the request: Master replicas must be 1' }) };
  expect(translateError(webhook, at).message).toMatch(/^the cluster's admission webhook rejected the pytorchjobs.kubeflow.org: admission webhook .* denied the request/);
  const rbac = { code: 403, body: { message: 'pytorchjobs.kubeflow.org is forbidden: User "u" cannot create resource "pytorchjobs"' } };
  expect(translateError(rbac, at).message).toMatch(/^forbidden: you may not create pytorchjobs.kubeflow.org in namespace "ml" \(RBAC\)/);
  expect(translateError({ code: 401 }, at).code).toBe('K8S_UNAUTHORIZED');
});

test('firstFailure names the pod, its exit code and the kubelet reason of the earliest failure', async () => {
  const { firstFailure, describeFailure } = await import('../../launchers/k8s/status.js');
  const pod = (name: string, exitCode: number, finishedAt: string, reason?: string) => ({
    metadata: { name },
    status: { containerStatuses: [{ name: 'pytorch', state: { terminated: { exitCode, finishedAt, ...(reason ? { reason } : {}) } } }] },
  });
  const f = firstFailure([pod('j-0-a', 0, '2026-01-01T00:00:01Z'), pod('j-1-b', 137, '2026-01-01T00:00:02Z', 'OOMKilled'), pod('j-0-c', 1, '2026-01-01T00:00:03Z')] as never);
  expect(f).toEqual({ pod: 'j-1-b', code: 137, reason: 'OOMKilled' });
  expect(describeFailure(f!)).toBe('pod j-1-b exited 137 (OOMKilled)');
  expect(firstFailure([pod('j-0-a', 0, '2026-01-01T00:00:01Z')] as never)).toBeUndefined();
});
