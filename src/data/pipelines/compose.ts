import { checkArgs, type Registry } from '../../registry/registry.js';
import { ConfigError } from '../../errors.js';
import type { Image, Random, SampleExtras, Transform } from '../types.js';
import { probOf } from './args.js';
import { Normalize, ToTensor, ToTensorNormalize } from './tensor.js';

/** A pipeline: transforms applied in order (torchvision Compose). */
export class Compose implements Transform {
  readonly type = 'Compose';
  private readonly steps: Transform[];
  constructor(readonly transforms: Transform[]) {
    // ToTensor directly followed by Normalize runs as one pass (same values, half the memory traffic).
    this.steps = [];
    for (let i = 0; i < transforms.length; i++) {
      const t = transforms[i];
      const next = transforms[i + 1];
      if (t instanceof ToTensor && next instanceof Normalize) {
        this.steps.push(new ToTensorNormalize(next));
        i++;
      } else this.steps.push(t);
    }
  }
  apply(img: Image, rng: Random, extras: SampleExtras): Image {
    for (const t of this.steps) img = t.apply(img, rng, extras);
    return img;
  }
}

/** Builds a pipeline from a list of transform configs. */
export function buildPipeline(registry: Registry<Transform>, cfgs: unknown, where: string): Compose {
  if (!Array.isArray(cfgs)) throw new ConfigError(`${where} must be a list of transforms, got ${JSON.stringify(cfgs)}`);
  return new Compose(cfgs.map((c) => registry.build(c as Record<string, unknown>)));
}

/** MMSelfSup RandomAppliedTrans(transforms, p=0.5): torchvision RandomApply. */
export class RandomAppliedTrans implements Transform {
  readonly type = 'RandomAppliedTrans';
  readonly p: number;
  readonly inner: Compose;
  constructor(args: Record<string, unknown>, registry: Registry<Transform>) {
    checkArgs(this.type, args, ['transforms', 'p']);
    this.p = probOf(this.type, args.p, 0.5);
    this.inner = buildPipeline(registry, args.transforms, 'RandomAppliedTrans.transforms');
  }
  apply(img: Image, rng: Random, extras: SampleExtras): Image {
    if (this.p < rng.random()) return img;
    return this.inner.apply(img, rng, extras);
  }
}
