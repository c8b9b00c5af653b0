import { Registry } from '../../registry/registry.js';
import type { DataSource } from '../types.js';
import { SyntheticShapes } from './synthetic-shapes.js';
import { FashionMNIST, MNIST } from './mnist.js';
import { ImageList, ImageNet, ImageNet21k } from './image-folder.js';
import { CIFAR10, CIFAR100 } from './cifar.js';

/** MMSelfSup's DATASOURCES by type name. Built sources still need `await source.init?.()`. */
export const DATASOURCES = new Registry<DataSource>('data source');

DATASOURCES.register('SyntheticShapes', (a) => new SyntheticShapes(a));
DATASOURCES.register('MNIST', (a) => new MNIST(a));
DATASOURCES.register('FashionMNIST', (a) => new FashionMNIST(a));
DATASOURCES.register('ImageNet', (a) => new ImageNet(a));
DATASOURCES.register('ImageList', (a) => new ImageList(a));
DATASOURCES.register('ImageNet21k', (a) => new ImageNet21k(a));
DATASOURCES.register('CIFAR10', (a) => new CIFAR10(a));
DATASOURCES.register('CIFAR100', (a) => new CIFAR100(a));

export { SyntheticShapes, MNIST, FashionMNIST, ImageNet, ImageList, ImageNet21k, CIFAR10, CIFAR100 };
