import type { ComponentEntry } from '../../registry/index.js';
import type { ListModule } from '../algorithms/base.js';
import { maePretrainDecoderEntry } from './mae-pretrain-decoder.js';
import { nonLinearNeckEntry } from './non-linear-neck.js';
import { relativeLocNeckEntry } from './relative-loc-neck.js';
import { swavNeckEntry } from './swav-neck.js';
import { odcNeckEntry } from './odc-neck.js';
import { simMIMNeckEntry } from './simmim-neck.js';
import { caeNeckEntry } from './cae-neck.js';
import { denseCLNeckEntry } from './densecl-neck.js';
import { globalAveragePoolingEntry } from './global-average-pooling.js';
import { avgPool2dNeckEntry, linearNeckEntry, moCoV2NeckEntry } from './simple-necks.js';

/** Every neck's entry (each defined in its component's file). */
export const NECK_ENTRIES: readonly ComponentEntry<ListModule, any>[] = [
  nonLinearNeckEntry,
  moCoV2NeckEntry,
  linearNeckEntry,
  avgPool2dNeckEntry,
  maePretrainDecoderEntry,
  relativeLocNeckEntry,
  swavNeckEntry,
  simMIMNeckEntry,
  globalAveragePoolingEntry,
  denseCLNeckEntry,
  caeNeckEntry,
  odcNeckEntry,
];
