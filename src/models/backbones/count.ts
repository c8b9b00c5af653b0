import { ConfigError } from '../../errors.js';
import type { Module } from '../../engine/module.js';
import { BACKBONES } from './index.js';

/** Parameter counts of one part of a model. */
export interface PartCount {
  part: string;
  /** All parameter elements. */
  total: number;
  /** Elements of parameters that require grad (not frozen). */
  trainable: number;
}

/** Counts of a whole model: one row per part (backbone, neck, head, ...), the total, and what could not be built. */
export interface ModelCount {
  /** Direct children of the algorithm; the algorithm's backbone is also a row, as count_parameters.py prints it. */
  parts: PartCount[];
  total: number;
  trainable: number;
  /** Parts whose type is not available here, with the reason. */
  skipped: string[];
}

function countModule(part: string, m: Module): PartCount {
  const params = m.parameters();
  return {
    part,
    total: params.reduce((n, v) => n + v.size, 0),
    trainable: params.filter((v) => v.trainable).reduce((n, v) => n + v.size, 0),
  };
}

/**
 * Counts the parameters of `cfg.model` like MMSelfSup's tools/analysis_tools/count_parameters.py.
 * Uses `buildModel` when the whole algorithm can be built (parts = its direct children), else
 * builds backbone / neck / head separately and reports those it cannot build.
 * @param buildParts the models package's builders (passed in to keep the dependency direction).
 */
export function countModelParameters(
  modelCfg: Record<string, unknown> | undefined,
  builders: { buildModel?: (cfg: unknown) => Module; necks?: { build(c: Record<string, unknown>): Module }; heads?: { build(c: Record<string, unknown>): Module } },
): ModelCount {
  if (!modelCfg || typeof modelCfg !== 'object') throw new ConfigError('the config has no "model" section');
  const skipped: string[] = [];
  let parts: PartCount[] | null = null;
  if (builders.buildModel) {
    try {
      const model = builders.buildModel(modelCfg);
      parts = model.namedChildren().map(([name, child]) => countModule(name, child));
      const own = model.numParameters() - parts.reduce((n, p) => n + p.total, 0);
      if (own > 0) parts.push({ part: '(algorithm)', total: own, trainable: own });
      const totals = { total: model.numParameters(), trainable: parts.reduce((n, p) => n + p.trainable, 0) };
      // MoCo/BYOL/SimSiam hold the backbone inside an encoder: MMSelfSup still reports `model.backbone`
      const backbone = (model as Module & { backbone?: Module }).backbone;
      if (backbone && !parts.some((p) => p.part === 'backbone')) parts.unshift(countModule('backbone', backbone));
      model.dispose();
      return { parts, ...totals, skipped };
    } catch (e) {
      skipped.push(`whole model: ${(e as Error).message}`);
    }
  }
  if (!parts) {
    parts = [];
    const registries: [string, { build(c: Record<string, unknown>): Module } | undefined][] = [
      ['backbone', BACKBONES],
      ['neck', builders.necks],
      ['head', builders.heads],
    ];
    for (const [part, registry] of registries) {
      const cfg = modelCfg[part] as Record<string, unknown> | undefined;
      if (!cfg) continue;
      try {
        if (!registry) throw new Error('no registry');
        const m = registry.build(cfg);
        parts.push(countModule(part, m));
        m.dispose();
      } catch (e) {
        skipped.push(`${part}: ${(e as Error).message}`);
      }
    }
  }
  return {
    parts,
    total: parts.reduce((n, p) => n + p.total, 0),
    trainable: parts.reduce((n, p) => n + p.trainable, 0),
    skipped,
  };
}

/** Table lines: part, exact count, millions (5 significant digits, as count_parameters.py), trainable. */
export function formatModelCount(c: ModelCount): string[] {
  const fmt = (n: number) => n.toLocaleString('en-US');
  const mega = (n: number) => `${Number((n / 1e6).toPrecision(5))} M`;
  const rows = [...c.parts.map((p) => [p.part, fmt(p.total), mega(p.total), fmt(p.trainable)]), ['total', fmt(c.total), mega(c.total), fmt(c.trainable)]];
  const head = ['part', 'parameters', 'millions', 'requiring grad'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((s, i) => (i === 0 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join('  ');
  return [line(head), ...rows.map(line), ...c.skipped.map((s) => `not counted: ${s}`)];
}
