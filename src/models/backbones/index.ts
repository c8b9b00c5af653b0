import { Registry } from '../../registry/registry.js';
import type { Module } from '../../engine/module.js';
import { buildResNet, buildResNetCifar, buildResNetV1d, buildResNeXt } from './resnet.js';
import { buildMAEViT } from './mae-vit.js';
import { buildMIMVisionTransformer } from './mim-vit.js';
import { buildVisionTransformer } from './vit.js';
import { buildMaskFeatViT } from './maskfeat-vit.js';
import { buildSwinTransformer } from './swin.js';
import { buildSimMIMSwinTransformer } from './simmim-swin.js';
import { buildCAEViT } from './cae-vit.js';

/** Backbones under MMSelfSup's type names; `build({type: 'ResNet', depth: 50, ...})`. */
export const BACKBONES = new Registry<Module>('backbone');
BACKBONES.register('ResNet', buildResNet);
BACKBONES.register('ResNetV1d', buildResNetV1d);
BACKBONES.register('ResNeXt', buildResNeXt);
BACKBONES.register('ResNet_CIFAR', buildResNetCifar);
BACKBONES.register('VisionTransformer', buildVisionTransformer);
BACKBONES.register('MaskFeatViT', buildMaskFeatViT);
BACKBONES.register('CAEViT', buildCAEViT);
BACKBONES.register('MAEViT', buildMAEViT);
BACKBONES.register('MIMVisionTransformer', buildMIMVisionTransformer);
BACKBONES.register('SwinTransformer', buildSwinTransformer);
BACKBONES.register('SimMIMSwinTransformer', buildSimMIMSwinTransformer);
// MMSelfSup's Swin fine-tuning configs name mmcls's class by its package scope
BACKBONES.register('mmcls.SwinTransformer', buildSwinTransformer);

export { ResNet, type ResNetArgs } from './resnet.js';
export { BasicBlock, Bottleneck } from './resnet-blocks.js';
export { MAEViT, type MaskedEncoding } from './mae-vit.js';
export { MaskFeatViT } from './maskfeat-vit.js';
export { VisionTransformer, sincosPositionEmbedding, type ViTArgs, type ViTOutput } from './vit.js';
