import { ConfigError } from '../../errors.js';

type Options = Record<string, Record<string, unknown>>;

/**
 * MMSelfSup 0.x `TransformerFinetuneConstructor`'s layer-wise lr decay: extends `paramwise_options`
 * (regex -> options, applied in order by the default constructor) with `lr_mult`s. ViT: pos_embed,
 * cls_token and patch_embed get decay^(L+1), `backbone.layers.i.` decay^(L−i), the rest 1.
 * Swin: every parameter by name, decay^(N−1−id) with id 0 for patch_embed/mask_token, block order
 * in the stages, N−1 for the rest. The layer counts are read from the parameter names.
 */
export function layerDecayOptions(names: string[], userOptions: Options | undefined, layerDecay: number, modelType: unknown): Options {
  const options: Options = {};
  for (const [k, v] of Object.entries(userOptions ?? {})) options[k] = { ...v };
  if (!(layerDecay > 0)) return options;
  const set = (key: string, lrMult: number) => (options[key] = { ...(options[key] ?? {}), lr_mult: lrMult });
  if (modelType === 'vit') {
    const layers = 1 + Math.max(-1, ...names.map((n) => /^backbone\.layers\.(\d+)\./.exec(n)).filter(Boolean).map((m) => Number(m![1])));
    if (layers === 0) throw new ConfigError('optimizer.model_type vit: the model has no backbone.layers.<i> parameters');
    const numLayers = layers + 1;
    const scale = (i: number) => layerDecay ** (numLayers - i);
    for (const k of ['pos_embed', 'cls_token', 'patch_embed']) set(k, scale(0));
    for (let i = 0; i < layers; i++) set(`backbone\\.layers\\.${i}\\.`, scale(i + 1));
    return options;
  }
  if (modelType === 'swin') {
    const depths: number[] = [];
    for (const n of names) {
      const m = /^backbone\.stages\.(\d+)\.blocks\.(\d+)\./.exec(n);
      if (m) depths[Number(m[1])] = Math.max(depths[Number(m[1])] ?? 0, Number(m[2]) + 1);
    }
    if (depths.length === 0) throw new ConfigError('optimizer.model_type swin: the model has no backbone.stages.<s>.blocks.<b> parameters');
    const numLayers = depths.reduce((a, b) => a + (b ?? 0), 0) + 2;
    const sumTo = (s: number) => depths.slice(0, s).reduce((a, b) => a + (b ?? 0), 0);
    for (const name of names) {
      let id = numLayers - 1;
      if (name.includes('mask_token') || name.includes('patch_embed')) id = 0;
      else if (name.startsWith('backbone.stages')) {
        const parts = name.split('.');
        const stage = Number(parts[2]);
        id = parts[4] === 'reduction' || parts[4] === 'norm' ? sumTo(stage + 1) : sumTo(stage) + Number(parts[4]) + 1;
      }
      // the parameter's own name as a regex, as MMSelfSup adds it (its dots match themselves too)
      set(name, layerDecay ** (numLayers - 1 - id));
    }
    return options;
  }
  throw new ConfigError(`optimizer.model_type must be 'vit' or 'swin' for layer_decay, got ${JSON.stringify(modelType)}`);
}
