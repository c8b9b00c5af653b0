import { Registry } from '../../registry/registry.js';
import type { Transform } from '../types.js';
import { CenterCrop, RandomCrop, RandomHorizontalFlip, RandomResizedCrop, RandomRotation, Resize } from './geometric.js';
import { ColorJitter, GaussianBlur, RandomGrayscale, Solarization } from './color.js';
import { Lighting, Normalize, ToTensor } from './tensor.js';
import { RandomAppliedTrans } from './compose.js';
import { BEiTMaskGenerator, MaskFeatMaskGenerator, SimMIMMaskGenerator } from './masks.js';
import { RandomAug } from './rand-aug.js';
import { RandomResizedCropAndInterpolationWithTwoPic } from './two-pic.js';

export { Compose, buildPipeline, RandomAppliedTrans } from './compose.js';

/** MMSelfSup's PIPELINES: transforms by type name, MMSelfSup/torchvision argument names. */
export const PIPELINES = new Registry<Transform>('pipeline');

PIPELINES.register('RandomResizedCrop', (a) => new RandomResizedCrop(a));
PIPELINES.register('Resize', (a) => new Resize(a));
PIPELINES.register('CenterCrop', (a) => new CenterCrop(a));
PIPELINES.register('RandomCrop', (a) => new RandomCrop(a));
PIPELINES.register('RandomHorizontalFlip', (a) => new RandomHorizontalFlip(a));
PIPELINES.register('RandomRotation', (a) => new RandomRotation(a));
PIPELINES.register('ColorJitter', (a) => new ColorJitter(a));
PIPELINES.register('RandomGrayscale', (a) => new RandomGrayscale(a));
PIPELINES.register('GaussianBlur', (a) => new GaussianBlur(a));
PIPELINES.register('Solarization', (a) => new Solarization(a));
PIPELINES.register('RandomAppliedTrans', (a) => new RandomAppliedTrans(a, PIPELINES));
PIPELINES.register('Lighting', (a) => new Lighting(a));
PIPELINES.register('ToTensor', (a) => new ToTensor(a));
PIPELINES.register('Normalize', (a) => new Normalize(a));
PIPELINES.register('RandomAug', (a) => new RandomAug(a));
PIPELINES.register('BEiTMaskGenerator', (a) => new BEiTMaskGenerator(a));
PIPELINES.register('SimMIMMaskGenerator', (a) => new SimMIMMaskGenerator(a));
PIPELINES.register('MaskFeatMaskGenerator', (a) => new MaskFeatMaskGenerator(a));
PIPELINES.register('RandomResizedCropAndInterpolationWithTwoPic', (a) => new RandomResizedCropAndInterpolationWithTwoPic(a));
