/**
 * Offline checks of manifests: Kubernetes schemas (kubernetes-models validators), unknown fields (the typed
 * models of @kubernetes/client-node, since kubernetes-models lets unknown fields pass), and for PyTorchJob the
 * CRD's openAPIV3Schema (ajv, plus a pruning walk as the API server's strict field validation does) and the
 * operator webhook's rules; for TrainJob and TrainingRuntime the Kubeflow Trainer CRDs' schemas.
 */
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { Ajv } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import { JobTemplateSpec } from 'kubernetes-models/batch/v1/JobTemplateSpec';
import { admitJob, admitPyTorchJob } from '../fake/controllers.js';

type Obj = Record<string, any>;

export const CRD_PATH = '/work/shared/data/kubeflow.org_pytorchjobs.yaml';
export const TRAINJOB_CRD_PATH = '/work/shared/data/kubeflow-trainer/trainer.kubeflow.org_trainjobs.yaml';
export const TRAINER_RUNTIME_PATH = '/work/shared/data/kubeflow-trainer/torch_distributed.yaml';
/**
 * The ClusterTrainingRuntime CRD. The namespaced TrainingRuntime's CRD is generated from the same Go type
 * (TrainingRuntimeSpec), so its v1alpha1 schema is this one; only the scope differs.
 */
export const RUNTIME_CRD_PATH = '/work/shared/data/kubeflow-trainer/trainer.kubeflow.org_clustertrainingruntimes.yaml';

/** Fields of `obj` that the typed model `type` (e.g. 'V1Job') does not know, as dotted paths. */
export function unknownFields(obj: unknown, type: string, path = ''): string[] {
  if (obj === null || obj === undefined) return [];
  const arr = /^Array<(.+)>$/.exec(type);
  if (arr) return (obj as unknown[]).flatMap((v, i) => unknownFields(v, arr[1], `${path}[${i}]`));
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return Object.entries(obj as Obj).flatMap(([k, v]) => unknownFields(v, map[1], `${path}.${k}`));
  const cls = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => { baseName: string; type: string }[] }>)[type];
  if (!cls?.getAttributeTypeMap || typeof obj !== 'object') return [];
  const attrs = new Map(cls.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  return Object.entries(obj as Obj).flatMap(([k, v]) => (attrs.has(k) ? unknownFields(v, attrs.get(k)!, path ? `${path}.${k}` : k) : [path ? `${path}.${k}` : k]));
}

const MODELS: Record<string, { model: new (d: Obj) => { validate(): void }; type: string }> = {
  ConfigMap: { model: ConfigMap as never, type: 'V1ConfigMap' },
  Service: { model: Service as never, type: 'V1Service' },
  Job: { model: Job as never, type: 'V1Job' },
};

let crdValidator: ((o: unknown) => boolean) & { errors?: unknown } | undefined;
let crdSchema: Obj | undefined;

function pyTorchJobSchema(): Obj {
  if (!crdSchema) {
    const docs = parseAllDocuments(readFileSync(CRD_PATH, 'utf8')).map((d) => d.toJS()).filter(Boolean);
    const crd = docs.find((d: Obj) => d.kind === 'CustomResourceDefinition');
    crdSchema = crd.spec.versions.find((v: Obj) => v.name === 'v1').schema.openAPIV3Schema as Obj;
  }
  return crdSchema;
}

/** Fields not declared in a structural schema (what the API server prunes or rejects with fieldValidation=Strict). */
export function unknownBySchema(obj: unknown, schema: Obj, path = ''): string[] {
  if (obj === null || typeof obj !== 'object' || schema['x-kubernetes-preserve-unknown-fields']) return [];
  if (Array.isArray(obj)) return schema.items ? obj.flatMap((v, i) => unknownBySchema(v, schema.items, `${path}[${i}]`)) : [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(obj)) {
    const p = path ? `${path}.${k}` : k;
    // The API server validates the root metadata as ObjectMeta, not by the CRD schema.
    if (path === '' && k === 'metadata') continue;
    if (schema.properties?.[k]) out.push(...unknownBySchema(v, schema.properties[k], p));
    else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') out.push(...unknownBySchema(v, schema.additionalProperties, p));
    else out.push(p);
  }
  return out;
}

let trainJobCrd: { schema: Obj; validate: ((o: unknown) => boolean) & { errors?: unknown }; rules: { rule: string; message: string }[] } | undefined;

/** The TrainJob CRD's v1alpha1 schema, its ajv validator, and the root CEL rules (checked by hand: ajv has no CEL). */
function trainJobSchema(): NonNullable<typeof trainJobCrd> {
  if (!trainJobCrd) {
    const docs = parseAllDocuments(readFileSync(TRAINJOB_CRD_PATH, 'utf8')).map((d) => d.toJS()).filter(Boolean);
    const crd = docs.find((d: Obj) => d.kind === 'CustomResourceDefinition');
    const schema = crd.spec.versions.find((v: Obj) => v.name === 'v1alpha1').schema.openAPIV3Schema as Obj;
    const ajv = new Ajv({ strict: false, allErrors: true });
    for (const f of ['int32', 'int64', 'date-time', 'int-or-string', 'uri']) ajv.addFormat(f, true);
    trainJobCrd = { schema, validate: ajv.compile(schema) as never, rules: schema['x-kubernetes-validations'] ?? [] };
  }
  return trainJobCrd;
}

/** TrainJob: the CRD schema (ajv and the pruning walk), its metadata.name rules, and that the patch addresses the runtime's trainer. */
function validateTrainJob(obj: Obj): void {
  const { schema, validate, rules } = trainJobSchema();
  if (!validate(obj)) throw new Error(`TrainJob does not match the CRD schema: ${JSON.stringify(validate.errors)}`);
  const unknown = unknownBySchema(obj, schema);
  if (unknown.length) throw new Error(`TrainJob has fields the CRD does not declare: ${unknown.join(', ')}`);
  // the CRD's two root rules (CEL): RFC 1035 label, at most 63 characters
  const expected = ["self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')", 'size(self.metadata.name) <= 63'];
  if (JSON.stringify(rules.map((r) => r.rule)) !== JSON.stringify(expected)) throw new Error(`the TrainJob CRD's root rules changed: ${JSON.stringify(rules)}`);
  if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(obj.metadata.name)) throw new Error(rules[0].message);
  if (obj.metadata.name.length > 63) throw new Error(rules[1].message);
  const runtime = parseAllDocuments(readFileSync(TRAINER_RUNTIME_PATH, 'utf8')).map((d) => d.toJS()).find((d: Obj) => d?.kind === 'ClusterTrainingRuntime');
  if (obj.spec.runtimeRef.name === runtime.metadata.name) {
    const rjobs = runtime.spec.template.spec.replicatedJobs as Obj[];
    for (const patch of obj.spec.runtimePatches ?? []) {
      for (const rj of patch.trainingRuntimeSpec?.template?.spec?.replicatedJobs ?? []) {
        const target = rjobs.find((r) => r.name === rj.name);
        if (!target) throw new Error(`runtime patch names replicated job ${rj.name}; ${runtime.metadata.name} has ${rjobs.map((r) => r.name).join(', ')}`);
        const names = (target.template.spec.template.spec.containers as Obj[]).map((c) => c.name);
        for (const c of rj.template?.spec?.template?.spec?.containers ?? []) {
          if (!names.includes(c.name)) throw new Error(`runtime patch names container ${c.name}; ${rj.name} has ${names.join(', ')}`);
        }
        const volumes = new Set((rj.template?.spec?.template?.spec?.volumes ?? []).map((v: Obj) => v.name));
        for (const c of rj.template?.spec?.template?.spec?.containers ?? []) {
          for (const m of c.volumeMounts ?? []) if (!volumes.has(m.name)) throw new Error(`volume mount ${m.name} has no volume`);
        }
        for (const v of rj.template?.spec?.template?.spec?.volumes ?? []) {
          const u = unknownFields(v, 'V1Volume');
          if (u.length) throw new Error(`volume ${v.name} has unknown fields: ${u.join(', ')}`);
        }
      }
    }
  }
}

let runtimeCrd: { schema: Obj; validate: ((o: unknown) => boolean) & { errors?: unknown } } | undefined;

/**
 * TrainingRuntime / ClusterTrainingRuntime: the runtime CRD's schema (ajv and the pruning walk), then each replicated
 * job's Job template as Kubernetes validates the Jobs the JobSet creates from it (typed model, unknown fields, and
 * podFailurePolicy only with restartPolicy Never).
 */
function validateRuntime(obj: Obj): void {
  if (!runtimeCrd) {
    const docs = parseAllDocuments(readFileSync(RUNTIME_CRD_PATH, 'utf8')).map((d) => d.toJS()).filter(Boolean);
    const crd = docs.find((d: Obj) => d.kind === 'CustomResourceDefinition');
    const schema = crd.spec.versions.find((v: Obj) => v.name === 'v1alpha1').schema.openAPIV3Schema as Obj;
    const ajv = new Ajv({ strict: false, allErrors: true });
    for (const f of ['int32', 'int64', 'date-time', 'int-or-string', 'uri']) ajv.addFormat(f, true);
    runtimeCrd = { schema, validate: ajv.compile(schema) as never };
  }
  const { schema, validate } = runtimeCrd;
  if (!validate(obj)) throw new Error(`${obj.kind} does not match the CRD schema: ${JSON.stringify(validate.errors)}`);
  const unknown = unknownBySchema(obj, schema);
  if (unknown.length) throw new Error(`${obj.kind} has fields the CRD does not declare: ${unknown.join(', ')}`);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(obj.metadata?.name ?? '')) throw new Error(`metadata.name "${obj.metadata?.name}" is not a DNS subdomain`);
  for (const rj of obj.spec.template?.spec?.replicatedJobs ?? []) {
    new JobTemplateSpec(rj.template as never).validate();
    const u = unknownFields(rj.template, 'V1JobTemplateSpec');
    if (u.length) throw new Error(`replicated job ${rj.name} has unknown fields: ${u.join(', ')}`);
    admitJob({ spec: rj.template.spec });
  }
}

/** Throws with every problem found in one manifest. */
export function validateManifest(obj: Obj): void {
  if (obj.kind === 'TrainJob') return validateTrainJob(obj);
  if (obj.kind === 'TrainingRuntime' || obj.kind === 'ClusterTrainingRuntime') return validateRuntime(obj);
  if (obj.kind === 'PyTorchJob') {
    if (!crdValidator) {
      const ajv = new Ajv({ strict: false, allErrors: true });
      for (const f of ['int32', 'int64', 'date-time', 'int-or-string']) ajv.addFormat(f, true);
      crdValidator = ajv.compile(pyTorchJobSchema()) as never;
    }
    if (!crdValidator!(obj)) throw new Error(`PyTorchJob does not match the CRD schema: ${JSON.stringify(crdValidator!.errors)}`);
    const unknown = unknownBySchema(obj, pyTorchJobSchema());
    if (unknown.length) throw new Error(`PyTorchJob has fields the CRD does not declare: ${unknown.join(', ')}`);
    admitPyTorchJob(obj);
    for (const [key, spec] of Object.entries<Obj>(obj.spec.pytorchReplicaSpecs)) {
      new PodTemplateSpec(spec.template as never).validate();
      const u = unknownFields(spec.template, 'V1PodTemplateSpec');
      if (u.length) throw new Error(`${key} pod template has unknown fields: ${u.join(', ')}`);
    }
    return;
  }
  const m = MODELS[obj.kind];
  if (!m) throw new Error(`no schema for kind ${obj.kind}`);
  new m.model(obj).validate();
  const u = unknownFields(obj, m.type);
  if (u.length) throw new Error(`${obj.kind} has unknown fields: ${u.join(', ')}`);
}
