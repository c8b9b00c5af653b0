import { checkArgs, type Registry } from '../../registry/registry.js';
import { ConfigError } from '../../errors.js';
import type { Image, Random, SampleExtras, Transform } from '../types.js';
import { probOf } from './args.js';
import { Normalize, ToTensor, ToTensorNormalize } from './tensor.js';
import { RandomHorizontalFlip } from './geometric.js';

/** A pipeline: transforms applied in order (torchvision Compose). */
export class Compose implements Transform {
  readonly type = 'Compose';
  private readonly steps: Transform[];
  constructor(readonly transforms: Transform[]) {
    // ToTensor directly followed by Normalize runs as one pass (same values, same random draws),
    // taking a RandomHorizontalFlip right before it along.
    this.steps = [];
    for (let i = 0; i < transforms.length; i++) {
      const t = transforms[i];
      const [n1, n2] = [transforms[i + 1], transforms[i + 2]];
      if (t instanceof RandomHorizontalFlip && n1 instanceof ToTensor && n2 instanceof Normalize) {
        this.steps.push(new ToTensorNormalize(n2, t));
        i += 2;
      } else if (t instanceof ToTensor && n1 instanceof Normalize) {
        this.steps.push(new ToTensorNormalize(n1));
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
