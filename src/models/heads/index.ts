import type { Module } from '../../engine/module.js';
import type { ComponentEntry } from '../../registry/index.js';
import { maeFinetuneHeadEntry, maskFeatFinetuneHeadEntry } from './finetune-heads.js';
import { maePretrainHeadEntry } from './mae-pretrain-head.js';
import { maskFeatPretrainHeadEntry } from './maskfeat-pretrain-head.js';
import { caeHeadEntry } from './cae-head.js';
import { maeLinprobeHeadEntry } from './mae-linprobe-head.js';
import { multiClsHeadEntry } from './multi-cls-head.js';
import { swavHeadEntry } from './swav-head.js';
import { simMIMHeadEntry } from './simmim-head.js';
import { linearClsHeadEntry } from './linear-cls-head.js';
import { moCoV3HeadEntry } from './mocov3-head.js';
import { clsHeadEntry, contrastiveHeadEntry, latentCrossCorrelationHeadEntry, latentPredictHeadEntry } from './heads.js';

/** Every head's entry (each defined in its component's file). */
export const HEAD_ENTRIES: readonly ComponentEntry<Module, any>[] = [
  contrastiveHeadEntry,
  latentPredictHeadEntry,
  latentCrossCorrelationHeadEntry,
  clsHeadEntry,
  multiClsHeadEntry,
  maePretrainHeadEntry,
  maeFinetuneHeadEntry,
  maskFeatFinetuneHeadEntry,
  swavHeadEntry,
  maskFeatPretrainHeadEntry,
  simMIMHeadEntry,
  linearClsHeadEntry,
  caeHeadEntry,
  maeLinprobeHeadEntry,
  moCoV3HeadEntry,
];
