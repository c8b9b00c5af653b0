import type { ComponentEntry } from '../../registry/index.js';
import type { BaseAlgorithm } from './base.js';
import { barlowTwinsEntry } from './barlowtwins.js';
import { byolEntry } from './byol.js';
import { classificationEntry } from './classification.js';
import { maeEntry } from './mae.js';
import { maskFeatEntry } from './maskfeat.js';
import { caeEntry } from './cae.js';
import { mocoEntry } from './moco.js';
import { simclrEntry } from './simclr.js';
import { simsiamEntry } from './simsiam.js';
import { rotationPredEntry } from './rotation-pred.js';
import { relativeLocEntry } from './relative-loc.js';
import { npidEntry } from './npid.js';
import { swavEntry } from './swav.js';
import { deepClusterEntry } from './deepcluster.js';
import { odcEntry } from './odc.js';
import { simMIMEntry } from './simmim.js';
import { mmclsClassifierWrapperEntry } from './mmcls-classifier-wrapper.js';
import { denseCLEntry } from './densecl.js';
import { moCoV3Entry } from './mocov3.js';
import { interCLRMoCoEntry } from './interclr-moco.js';

/** Every algorithm's entry (type name, arguments with defaults, builder — each in its own file). */
export const ALGORITHM_ENTRIES: readonly ComponentEntry<BaseAlgorithm, any>[] = [
  simclrEntry,
  mocoEntry,
  byolEntry,
  simsiamEntry,
  barlowTwinsEntry,
  classificationEntry,
  maeEntry,
  maskFeatEntry,
  caeEntry,
  rotationPredEntry,
  relativeLocEntry,
  npidEntry,
  swavEntry,
  deepClusterEntry,
  odcEntry,
  simMIMEntry,
  mmclsClassifierWrapperEntry,
  denseCLEntry,
  moCoV3Entry,
  interCLRMoCoEntry,
];
