#!/usr/bin/python3
"""PyTorch reference training run of ssl's Fashion-MNIST recipes (benchmarks/README.md, "Training").

    /usr/bin/python3 tools/torch-train-fmnist.py [--algo simclr] [--config CONFIG] [--iters N] [--threads T]
        [--seed S] [--warmup W] [--knn] [--knn-bank 10000] [--knn-query 2000] [--cfg-options K=V ...]

The recipe is the ssl config itself: `node bin/run.js config show CONFIG --format json` (run `npx tsc`
first) resolves it, and this script builds from it the same data (Debian's dataset-fashion-mnist idx
files that ssl's FashionMNIST source reads), torchvision transforms equal to the config's pipeline, a
DataLoader of `samples_per_gpu` (shuffled, `drop_last`), the mmcls ResNet_CIFAR of tools/torch-reference.py
with MMSelfSup's init (Kaiming fan_out convs, BN 1/0), MMSelfSup 0.x's neck/head/forward_train, the
config's SGD (with `paramwise_options`) and lr schedule (mmcv CosineAnnealing/Step, by_epoch or per
iteration, linear warm-up). `--iters N` stops after N iterations; the schedule stays the config's.

Prints the mean loss of every `log_config.interval` iterations as it goes (stderr) and one JSON line at
the end (stdout): losses per logged interval, seconds, images/s over the iterations after the first
`--warmup` (default 5), and, with `--knn`, the weighted kNN top-1/top-5 of the random-init and trained
backbone (src/eval/knn.ts's protocol: eval mode, global average pool, L2-normalised, k and T from the
config's `knn`, ties to the lower class; bank/queries `--knn-bank`/`--knn-query` images evenly spaced over
the train/test split as ssl's SubsetDataset picks them, 0 = all).
"""
import argparse
import gzip
import importlib.util
import json
import math
import os
import random
import re
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageFilter, ImageOps
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def load_tool(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, file))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


ref = load_tool('torch_reference', 'torch-reference.py')
replay = load_tool('torch_train_replay', 'torch-train-replay.py')
algos = load_tool('torch_algos_reference', 'torch-algos-reference.py')
momentum = load_tool('torch_momentum_algos_reference', 'torch-momentum-algos-reference.py')
swav = load_tool('torch_swav_head_reference', 'torch-swav-head-reference.py')

# --algo's recipes: those of the table in benchmarks/README.md ("Training"; benchmarks/train-fmnist-families.ts)
DEFAULT_CONFIGS = {
    'simclr': 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb256-coslr-2e_fmnist.yaml',
    'swav': 'configs/selfsup/swav/swav_resnet18-cifar_1xb64-mcrop-2-2-coslr-80it_fmnist.yaml',
    'densecl': 'configs/selfsup/densecl/densecl_resnet18-cifar_1xb64-coslr-120it_fmnist.yaml',
    'npid': 'configs/selfsup/npid/npid_resnet18-cifar_1xb128-coslr-3e_fmnist-5k.yaml',
    'odc': 'configs/selfsup/odc/odc_resnet18-cifar_1xb128-coslr-3e_fmnist-5k.yaml',
    'deepcluster': 'configs/selfsup/deepcluster/deepcluster_resnet18-cifar_1xb128-coslr-3e_fmnist-5k.yaml',
    'rotation_pred': 'configs/selfsup/rotation_pred/rotation-pred_resnet18-cifar_1xb64-coslr-200it_fmnist.yaml',
}


def fail(msg):
    sys.stderr.write(f'torch-train-fmnist: {msg}\n')
    sys.exit(2)


def resolve_config(path, cfg_options):
    cmd = ['node', os.path.join(ROOT, 'bin', 'run.js'), 'config', 'show', path, '--format', 'json']
    if cfg_options:
        cmd += ['--cfg-options', *cfg_options]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        fail(f'could not resolve {path} with ssl (run `npx tsc -p tsconfig.json` first): {r.stderr.strip() or r.stdout.strip()}')
    return json.loads(r.stdout)


# ---------------------------------------------------------------- data (mmcls FashionMNIST, idx files)
def read_idx(prefix, stem):
    for name in (stem, stem + '.gz'):
        p = os.path.join(prefix, name)
        if os.path.exists(p):
            raw = gzip.open(p).read() if name.endswith('.gz') else open(p, 'rb').read()
            ndim = raw[3]
            dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
            return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)
    fail(f'{stem}[.gz] not found in {prefix} (install Debian\'s dataset-fashion-mnist)')


class FashionMNIST:
    def __init__(self, cfg):
        if cfg.get('type') not in ('FashionMNIST', 'MNIST'):
            fail(f'data_source {cfg.get("type")} is not covered (FashionMNIST / MNIST only)')
        if cfg.get('color_type', 'color') != 'grayscale':
            fail('only color_type: grayscale is covered')
        split = 't10k' if cfg.get('test_mode') else 'train'
        prefix = cfg.get('data_prefix', '/usr/share/datasets/fashion-mnist')
        self.images = read_idx(prefix, f'{split}-images-idx3-ubyte')
        self.labels = read_idx(prefix, f'{split}-labels-idx1-ubyte').astype(np.int64)

    def __len__(self):
        return len(self.labels)

    def image(self, i):
        return Image.fromarray(self.images[i], mode='L')


class MMGaussianBlur:
    """MMSelfSup GaussianBlur: PIL blur with radius ~ U(sigma_min, sigma_max), applied with probability p."""

    def __init__(self, sigma_min, sigma_max, p=0.5):
        self.sigma_min, self.sigma_max, self.p = sigma_min, sigma_max, p

    def __call__(self, img):
        if random.random() > self.p:
            return img
        return img.filter(ImageFilter.GaussianBlur(radius=random.uniform(self.sigma_min, self.sigma_max)))


class MMSolarization:
    def __init__(self, threshold=128, p=0.5):
        self.threshold, self.p = threshold, p

    def __call__(self, img):
        return ImageOps.solarize(img, self.threshold) if random.random() < self.p else img


def transform(t):
    kind = t['type']
    a = {k: v for k, v in t.items() if k != 'type'}
    if kind == 'RandomResizedCrop':
        return T.RandomResizedCrop(a['size'], scale=tuple(a.get('scale', (0.08, 1.0))), ratio=tuple(a.get('ratio', (3 / 4, 4 / 3))))
    if kind == 'RandomHorizontalFlip':
        return T.RandomHorizontalFlip(a.get('p', 0.5))
    if kind == 'RandomAppliedTrans':
        return T.RandomApply([transform(x) for x in a['transforms']], p=a.get('p', 0.5))
    if kind == 'ColorJitter':
        return T.ColorJitter(a.get('brightness', 0), a.get('contrast', 0), a.get('saturation', 0), a.get('hue', 0))
    if kind == 'RandomGrayscale':
        return T.RandomGrayscale(a.get('p', 0.1))
    if kind == 'GaussianBlur':
        return MMGaussianBlur(a['sigma_min'], a['sigma_max'], a.get('p', 0.5))
    if kind == 'Solarization':
        return MMSolarization(a.get('threshold', 128), a.get('p', 0.5))
    if kind == 'RandomCrop':
        return T.RandomCrop(a['size'], padding=a.get('padding'))
    if kind == 'Resize':
        return T.Resize(a['size'])
    if kind == 'CenterCrop':
        return T.CenterCrop(a['crop_size'] if 'crop_size' in a else a['size'])
    if kind == 'ToTensor':
        return T.ToTensor()
    if kind == 'Normalize':
        return T.Normalize(a['mean'], a['std'])
    fail(f'pipeline step {kind} is not covered')


def compose(steps):
    return T.Compose([transform(t) for t in steps])


def rotations(x):
    """MMSelfSup RotationPredDataset: 0, 90, 180, 270 degrees counter-clockwise of a CHW tensor."""
    return torch.stack([x, torch.flip(x.transpose(1, 2), [1]), torch.flip(x, [1, 2]), torch.flip(x, [1]).transpose(1, 2)])


class TrainSet(Dataset):
    """MMSelfSup's MultiViewDataset / SingleViewDataset / DeepClusterDataset / RotationPredDataset, and
    ssl's SubsetDataset (num_samples evenly spaced images) around one: items are dicts of `img` (a list of
    views), `idx` (the index in this data set: memories and clustering use it), `pseudo_label`
    (DeepClusterDataset, -1 until clustered) or `rot_label`."""

    def __init__(self, cfg):
        self.indices = None
        if cfg['type'] == 'SubsetDataset':
            inner = cfg['dataset']
            self.__init__(inner)
            self.indices = evenly_spaced(len(self.source), cfg['num_samples'])
            self.pseudo_labels = torch.full((len(self.indices),), -1, dtype=torch.long)
            return
        self.kind = cfg['type']
        self.source = FashionMNIST(cfg['data_source'])
        if self.kind == 'MultiViewDataset':
            self.pipes = []
            for n, p in zip(cfg['num_views'], cfg['pipelines']):
                self.pipes += [compose(p)] * n
        elif self.kind in ('SingleViewDataset', 'DeepClusterDataset', 'RotationPredDataset'):
            self.pipes = [compose(cfg['pipeline'])]
        else:
            fail(f'dataset {self.kind} is not covered')
        self.pseudo_labels = torch.full((len(self.source),), -1, dtype=torch.long)

    def __len__(self):
        return len(self.source) if self.indices is None else len(self.indices)

    def __getitem__(self, i):
        img = self.source.image(i if self.indices is None else self.indices[i])
        views = [p(img) for p in self.pipes]
        if self.kind == 'RotationPredDataset':
            return dict(img=[rotations(views[0])], rot_label=torch.arange(4))
        out = dict(img=views, idx=i)
        if self.kind == 'DeepClusterDataset':
            out['pseudo_label'] = self.pseudo_labels[i]
        return out


class EvalSet(TrainSet):
    """The extractor's data set: the image only (one eval pipeline)."""

    def __getitem__(self, i):
        return super().__getitem__(i)['img'][0]


class EpochSampler(torch.utils.data.Sampler):
    """A fresh permutation each epoch, or MMSelfSup's uniform sampling over clusters once
    DeepClusterHook called set_uniform_indices (each cluster drawn N / k + 1 times, shuffled, cut to N)."""

    def __init__(self, n, seed):
        self.n, self.g, self.uniform = n, torch.Generator().manual_seed(seed), None

    def set_uniform_indices(self, labels, num_classes, epoch):
        rng = np.random.RandomState(epoch)
        per = int(len(labels) / num_classes) + 1
        lists = [np.where(labels == c)[0] for c in range(num_classes)]
        idx = np.concatenate([rng.choice(l, per, replace=len(l) <= per) for l in lists if len(l) > 0])
        rng.shuffle(idx)
        self.uniform = idx[:len(labels)].tolist()

    def __len__(self):
        return self.n

    def __iter__(self):
        return iter(self.uniform if self.uniform is not None else torch.randperm(self.n, generator=self.g).tolist())


# ---------------------------------------------------------------- model (MMSelfSup 0.x forward_train)
def mm_init(module):
    """mmcls ResNet init: Kaiming normal (fan_out, relu) convs, norm weight 1 and bias 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm)) and m.affine:
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)


def build_backbone(b):
    if b['type'] != 'ResNet_CIFAR':
        fail(f'backbone {b["type"]} is not covered (ResNet_CIFAR only)')
    if b.get('norm_cfg', {'type': 'BN'})['type'] != 'BN':
        fail('ResNet_CIFAR with norm_cfg BN only')
    net = ref.ResNet(b['depth'], in_channels=b.get('in_channels', 3), stem_channels=b.get('stem_channels', 64),
                     base_channels=b.get('base_channels', 64), out_indices=tuple(b.get('out_indices', [4])), cifar=True)
    mm_init(net)
    return net


def normal_linear_init(module, init_cfg):
    """MMSelfSup necks' init_cfg: Normal(std) on Linear layers (bias 0), Constant(1) on norms."""
    for c in init_cfg if isinstance(init_cfg, list) else [init_cfg]:
        layers = c.get('layer', [])
        layers = layers if isinstance(layers, list) else [layers]
        for m in module.modules():
            if c['type'] == 'Normal' and 'Linear' in layers and isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, c.get('std', 1))
                if m.bias is not None:
                    nn.init.constant_(m.bias, c.get('bias', 0))
            if c['type'] == 'Constant' and isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm)) and m.affine:
                nn.init.constant_(m.weight, c.get('val', 1))
                nn.init.constant_(m.bias, c.get('bias', 0))


class Algorithm(nn.Module):
    """The hooks the training loop calls (mmcv's runner order); each algorithm overrides what its
    MMSelfSup hooks do."""

    def before_run(self, ctx):
        pass

    def before_epoch(self, epoch):
        pass

    def before_iter(self, it):
        pass

    def after_iter(self, it):
        pass

    def after_epoch(self, epoch):
        pass


def build_neck(n):
    t = n['type']
    if t in ('MoCoV2Neck', 'NonLinearNeck'):
        neck = replay.neck_of(n)
        mod = neck
    elif t == 'LinearNeck':
        neck = ListNeck(algos.LinearNeck(n['in_channels'], n['out_channels']))
        mod = neck.inner
    elif t == 'AvgPool2dNeck':
        return ListNeck(None)
    elif t == 'ODCNeck':
        inner = algos.ODCNeck(n['in_channels'], n['hid_channels'], n['out_channels'])
        inner.drop = nn.Dropout(0.5)
        normal_linear_init(inner, n.get('init_cfg') or [dict(type='Constant', val=1, layer=['_BatchNorm'])])
        return ListNeck(inner, listed=True)
    elif t == 'DenseCLNeck':
        return momentum.DenseCLNeck(n['in_channels'], n['hid_channels'], n['out_channels'], n.get('num_grid'))
    elif t == 'SwAVNeck':
        return SwAVNeck(n)
    else:
        fail(f'neck {t} is not covered')
    if n.get('init_cfg'):
        normal_linear_init(mod, n['init_cfg'])
    return neck


class ListNeck(nn.Module):
    """Adapts a neck to a list of backbone outputs -> list of outputs (MMSelfSup's neck calling convention);
    `None` is AvgPool2dNeck."""

    def __init__(self, inner, listed=False):
        super().__init__()
        self.inner, self.listed = inner, listed

    def forward(self, x):
        if self.inner is None:
            return [F.adaptive_avg_pool2d(x[-1], 1)]
        if self.listed:
            return self.inner([x[-1]])
        return self.inner([x[-1]])


class SwAVNeck(nn.Module):
    """MMSelfSup SwAVNeck: average-pool every resolution group, concatenate, Linear-BN-ReLU-Linear, L2."""

    def __init__(self, n):
        super().__init__()
        self.with_l2norm = n.get('with_l2norm', True)
        inc, hid, out = n['in_channels'], n['hid_channels'], n['out_channels']
        if out == 0:
            self.projection_neck = None
        elif hid == 0:
            self.projection_neck = nn.Linear(inc, out)
        else:
            self.projection_neck = nn.Sequential(nn.Linear(inc, hid), nn.BatchNorm1d(hid), nn.ReLU(inplace=True), nn.Linear(hid, out))
        normal_linear_init(self, n.get('init_cfg') or [dict(type='Constant', val=1, layer=['_BatchNorm'])])

    def forward(self, groups):
        x = torch.cat([F.adaptive_avg_pool2d(g, 1) for g in groups]).flatten(1)
        if self.projection_neck is not None:
            x = self.projection_neck(x)
        return [F.normalize(x, dim=1, p=2) if self.with_l2norm else x]


def cls_head(h):
    """ClsHead with its default init (Normal std 0.01 on the Linear, bias 0)."""
    head = algos.ClsHead(h['in_channels'], h['num_classes'], h.get('with_avg_pool', False))
    init_cls_head(head)
    return head


def init_cls_head(head):
    nn.init.normal_(head.fc_cls.weight, 0, 0.01)
    nn.init.constant_(head.fc_cls.bias, 0)


class SimCLR(Algorithm):
    """MMSelfSup 0.x SimCLR: the views interleaved per sample through backbone + MoCoV2Neck/NonLinearNeck,
    NT-Xent (ContrastiveHead) over the 2N embeddings."""

    def __init__(self, m, ctx):
        super().__init__()
        self.backbone = build_backbone(m['backbone'])
        self.neck = build_neck(m['neck'])
        self.temperature = m['head'].get('temperature', 0.1)

    def forward_train(self, data, it):
        x = torch.stack(data['img'], 1)
        x = x.reshape(-1, *x.shape[2:])
        return replay.nt_xent(self.neck(self.backbone(x)[-1]), self.temperature)


class RotationPred(Algorithm):
    """MMSelfSup RotationPred: the 4 rotations of each image, ClsHead over 4 classes."""

    def __init__(self, m, ctx):
        super().__init__()
        self.backbone = build_backbone(m['backbone'])
        self.head = cls_head(m['head'])

    def forward_train(self, data, it):
        x = data['img'][0]
        x = x.view(-1, *x.shape[2:])
        return self.head.loss(self.head(self.backbone(x)), data['rot_label'].flatten())


class NPID(Algorithm):
    """MMSelfSup NPID: LinearNeck, L2, positives from SimpleMemory at the sample's index, neg_num
    uniform negatives (AliasMethod over ones), ensure_neg re-draws, NCE-style ContrastiveHead, memory update."""

    def __init__(self, m, ctx):
        super().__init__()
        self.backbone = build_backbone(m['backbone'])
        self.neck = build_neck(m['neck'])
        mb = m['memory_bank']
        if mb['length'] != ctx['dataset_len']:
            fail(f'memory_bank.length {mb["length"]} differs from the data set ({ctx["dataset_len"]})')
        self.memory_bank = algos.SimpleMemory(mb['length'], mb['feat_dim'], mb.get('momentum', 0.5), None)
        self.neg_num, self.ensure_neg = m.get('neg_num', 65536), m.get('ensure_neg', False)
        self.temperature = m['head'].get('temperature', 0.1)

    def forward_train(self, data, it):
        idx = data['idx']
        feature = F.normalize(self.neck(self.backbone(data['img'][0]))[0].flatten(1))
        bs, dim = feature.shape
        length = self.memory_bank.feature_bank.shape[0]
        neg_idx = torch.randint(length, (bs * self.neg_num,))
        if self.ensure_neg:
            neg_idx = neg_idx.view(bs, -1)
            while True:
                wrong = neg_idx == idx.view(-1, 1)
                if int(wrong.sum()) == 0:
                    break
                neg_idx[wrong] = torch.randint(length, (int(wrong.sum()),))
            neg_idx = neg_idx.flatten()
        bank = self.memory_bank.feature_bank
        pos = torch.einsum('nc,nc->n', [bank[idx], feature]).unsqueeze(-1)
        neg = torch.bmm(bank[neg_idx].view(bs, self.neg_num, dim), feature.unsqueeze(2)).squeeze(2)
        loss = algos.contrastive_head(pos, neg, self.temperature)
        with torch.no_grad():
            self.memory_bank.update(idx, feature.detach())
        return loss


class DenseCL(Algorithm):
    """MMSelfSup DenseCL (tools/torch-momentum-algos-reference.py's forward_train with the config's sizes):
    momentum key encoder, global and dense queues, backbone-feature correspondence, loss_lambda;
    DenseCLHook(start_iters) zeroes the dense weight before start_iters."""

    def __init__(self, m, ctx):
        super().__init__()
        self.encoder_q = nn.Sequential(build_backbone(m['backbone']), build_neck(m['neck']))
        self.encoder_k = nn.Sequential(build_backbone(m['backbone']), build_neck(m['neck']))
        momentum.copy_params(self.encoder_q, self.encoder_k)
        self.queue_len, dim = m.get('queue_len', 65536), m.get('feat_dim', 128)
        self.register_buffer('queue', F.normalize(torch.randn(dim, self.queue_len), dim=0))
        self.register_buffer('queue2', F.normalize(torch.randn(dim, self.queue_len), dim=0))
        self.ptr = [0, 0]
        self.m, self.T = m.get('momentum', 0.999), m['head'].get('temperature', 0.1)
        self.base_lambda = self.loss_lambda = m.get('loss_lambda', 0.5)
        hook = next((h for h in ctx['hooks'] if h['type'] == 'DenseCLHook'), None)
        self.start_iters = hook.get('start_iters', 1000) if hook else 0
        self.backbone = self.encoder_q[0]

    def before_iter(self, it):
        self.loss_lambda = self.base_lambda if it >= self.start_iters else 0.

    def _enqueue(self, queue, which, keys):
        n, p = keys.shape[0], self.ptr[which]
        assert self.queue_len % n == 0
        queue[:, p:p + n] = keys.t()
        self.ptr[which] = (p + n) % self.queue_len

    def forward_train(self, data, it):
        im_q, im_k = data['img']
        q_b = self.encoder_q[0](im_q)
        q, q_grid, _ = self.encoder_q[1](q_b)
        q_b = q_b[-1]
        q_b = F.normalize(q_b.view(q_b.size(0), q_b.size(1), -1), dim=1)
        q, q_grid = F.normalize(q, dim=1), F.normalize(q_grid, dim=1)
        with torch.no_grad():
            for p, pk in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
                pk.data = pk.data * self.m + p.data * (1. - self.m)
            k_b = self.encoder_k[0](im_k)
            k, k_grid, k2 = self.encoder_k[1](k_b)
            k_b = k_b[-1]
            k_b = F.normalize(k_b.view(k_b.size(0), k_b.size(1), -1), dim=1)
            k, k2, k_grid = F.normalize(k, dim=1), F.normalize(k2, dim=1), F.normalize(k_grid, dim=1)
        l_pos = torch.einsum('nc,nc->n', [q, k]).unsqueeze(-1)
        l_neg = torch.einsum('nc,ck->nk', [q, self.queue.clone().detach()])
        ind = torch.matmul(q_b.permute(0, 2, 1), k_b).max(dim=2)[1]
        indexed_k_grid = torch.gather(k_grid, 2, ind.unsqueeze(1).expand(-1, k_grid.size(1), -1))
        l_pos_dense = (q_grid * indexed_k_grid).sum(1).view(-1).unsqueeze(-1)
        q_grid = q_grid.permute(0, 2, 1).reshape(-1, q_grid.size(1))
        l_neg_dense = torch.einsum('nc,ck->nk', [q_grid, self.queue2.clone().detach()])
        loss = algos.contrastive_head(l_pos, l_neg, self.T) * (1 - self.loss_lambda) + \
            algos.contrastive_head(l_pos_dense, l_neg_dense, self.T) * self.loss_lambda
        self._enqueue(self.queue, 0, k)
        self._enqueue(self.queue2, 1, k2)
        return loss


class SwAV(Algorithm):
    """MMSelfSup SwAV: the crops through the backbone in groups of equal resolution, SwAVNeck,
    SwAVHead (swav_head_forward of tools/torch-swav-head-reference.py: prototypes normalised, Sinkhorn,
    swapped prediction), SwAVHook's queue from `epoch_queue_starts` when `queue_length` > 0;
    `optimizer_config.frozen_layers_cfg` (prototypes) is applied by the training loop."""

    def __init__(self, m, ctx):
        super().__init__()
        self.backbone = build_backbone(m['backbone'])
        self.neck = build_neck(m['neck'])
        h = m['head']
        self.head = nn.Module()
        self.head.prototypes = nn.Linear(h['feat_dim'], h.get('num_prototypes', 3000), bias=False)
        self.h = h
        self.num_crops = h.get('num_crops', [2, 6])
        self.crops_for_assign = h.get('crops_for_assign', [0, 1])
        self.hook = next((x for x in ctx['hooks'] if x['type'] == 'SwAVHook'), None)
        self.queue = None

    def before_epoch(self, epoch):
        hk = self.hook
        if hk and hk.get('queue_length', 0) > 0 and epoch >= hk.get('epoch_queue_starts', 15) and self.queue is None:
            self.queue = torch.zeros(len(hk.get('crops_for_assign', [0, 1])), hk['queue_length'], hk.get('feat_dim', 128))

    def forward_train(self, data, it):
        img = data['img']
        sizes = torch.tensor([v.shape[-1] for v in img])
        ends = torch.cumsum(torch.unique_consecutive(sizes, return_counts=True)[1], 0).tolist()
        groups, start = [], 0
        for end in ends:
            groups.append(self.backbone(torch.cat(img[start:end]))[-1])
            start = end
        x = self.neck(groups)[0]
        h = self.h
        return swav.swav_head_forward(x, self.head.prototypes, self.queue, self.num_crops, self.crops_for_assign,
                                      h.get('temperature', 0.1), h.get('epsilon', 0.05), h.get('sinkhorn_iterations', 3))


def set_reweight(labels, num_classes, reweight_pow):
    """MMSelfSup DeepCluster/ODC set_reweight: class weights (1 / size)^pow, normalised to sum 1."""
    hist = torch.bincount(torch.as_tensor(labels), minlength=num_classes).double()
    inv = (1. / (hist + 1e-10)) ** reweight_pow
    return (inv / inv.sum()).float()


class DeepCluster(Algorithm):
    """MMSelfSup DeepCluster (with_sobel False: the images are grey) + DeepClusterHook: before the run
    (`initial`) and after every `interval` epochs the extractor's features (backbone + neck, eval mode)
    of the whole data set are PCA-whitened to `pca_dim`, L2-normalised and clustered by k-means
    (scikit-learn's KMeans for faiss's, 20 iterations, one init); the labels become the pseudo labels,
    the sampler draws the clusters uniformly (`unif_sampling`), the loss is re-weighted (`reweight`) and the
    classifier re-initialised."""

    def __init__(self, m, ctx):
        super().__init__()
        if m.get('with_sobel', True):
            fail('DeepCluster: set model.with_sobel=False (the Fashion-MNIST recipes are grey; Sobel is not covered)')
        self.backbone = build_backbone(m['backbone'])
        self.neck = build_neck(m['neck']) if m.get('neck') else ListNeck(None)
        self.head = cls_head(m['head'])
        self.num_classes = m['head']['num_classes']
        self.register_buffer('loss_weight', torch.ones(self.num_classes) / self.num_classes)
        self.use_weight = False
        self.hook = next((x for x in ctx['hooks'] if x['type'] == 'DeepClusterHook'), None)
        if not self.hook:
            fail('DeepCluster needs a DeepClusterHook in custom_hooks')
        self.ctx = ctx

    def before_run(self, ctx):
        if self.hook.get('initial', True):
            self.deepcluster(0)

    def after_epoch(self, epoch):
        if (epoch + 1) % self.hook.get('interval', 1) == 0:
            self.deepcluster(epoch + 1)

    def extract(self):
        """The extractor's dataset (eval pipeline) through backbone + neck in eval mode."""
        ex = self.hook['extractor']
        ds = EvalSet(ex['dataset'])
        was = self.training
        self.eval()
        out = []
        with torch.no_grad():
            for s in range(0, len(ds), ex.get('samples_per_gpu', 128)):
                x = torch.stack([ds[i] for i in range(s, min(len(ds), s + ex.get('samples_per_gpu', 128)))])
                out.append(self.neck(self.backbone(x))[0].flatten(1))
        self.train(was)
        return torch.cat(out).numpy().astype(np.float32)

    def deepcluster(self, epoch):
        hk = self.hook
        feats = self.extract()
        c = hk['clustering']
        if c['type'] != 'Kmeans':
            fail(f'clustering {c["type"]} is not covered (Kmeans only)')
        labels = kmeans(feats, c['k'], c.get('pca_dim', 256), seed=int(np.random.randint(1234)))
        sizes = np.bincount(labels, minlength=c['k'])
        sys.stderr.write(f'clustering at epoch {epoch}: empty_num: {(sizes == 0).sum()}  min_cluster: {sizes.min()}  max_cluster: {sizes.max()}\n')
        ds = self.ctx['dataset']
        ds.pseudo_labels = torch.from_numpy(labels.astype(np.int64))
        if hk.get('unif_sampling'):
            self.ctx['sampler'].set_uniform_indices(labels, c['k'], epoch)
        if hk.get('reweight'):
            self.set_reweight(labels, hk.get('reweight_pow', 0.5))
        init_cls_head(self.head)
        if hk.get('init_memory'):
            self.memory_bank.init_memory(torch.from_numpy(feats), torch.from_numpy(labels.astype(np.int64)))

    def set_reweight(self, labels, reweight_pow=0.5):
        self.loss_weight.copy_(set_reweight(labels, self.num_classes, reweight_pow))
        self.use_weight = True

    def forward_train(self, data, it):
        x = self.neck(self.backbone(data['img'][0]))
        labels = data['pseudo_label']
        if (labels < 0).any():
            fail('DeepCluster: a sample has no pseudo label yet')
        return F.cross_entropy(self.head(x)[0], labels, weight=self.loss_weight if self.use_weight else None)


class ODC(DeepCluster):
    """MMSelfSup ODC: ODCNeck, ClsHead over ODCMemory's labels (weighted), memory update after each step;
    ODCHook: centroids every `centroids_update_interval` iterations, small clusters (< min_cluster)
    re-assigned to the nearest other centroid and the emptied ones refilled by a 2-means split of the
    largest cluster (scikit-learn KMeans(2, random_state=0, max_iter=20) as MMSelfSup), re-weighting."""

    def __init__(self, m, ctx):
        if m.get('with_sobel', False):
            fail('ODC: with_sobel is not covered')
        super().__init__(dict(m, with_sobel=False), ctx)
        mb = m['memory_bank']
        if mb['length'] != ctx['dataset_len']:
            fail(f'memory_bank.length {mb["length"]} differs from the data set ({ctx["dataset_len"]})')
        self.memory_bank = algos.ODCMemory(mb['length'], mb['feat_dim'], mb.get('momentum', 0.5), mb['num_classes'])
        self.min_cluster = mb.get('min_cluster', 20)
        self.odc_hook = next((x for x in ctx['hooks'] if x['type'] == 'ODCHook'), None)
        if not self.odc_hook:
            fail('ODC needs an ODCHook in custom_hooks')
        self.use_weight = True  # ODC's head always uses loss_weight (uniform until set_reweight)

    def forward_train(self, data, it):
        feature = self.neck(self.backbone(data['img'][0]))
        labels = self.memory_bank.label_bank[data['idx']]
        loss = F.cross_entropy(self.head(feature)[0], labels, weight=self.loss_weight)
        with torch.no_grad():
            self.change_ratio = float(self.memory_bank.update_samples_memory(data['idx'], feature[0].detach()))
        return loss

    def after_iter(self, it):
        hk = self.odc_hook
        n = it + 1
        if n % hk['centroids_update_interval'] == 0:
            self.memory_bank.update_centroids_memory()
        if n % hk['deal_with_small_clusters_interval'] == 0:
            self.deal_with_small_clusters()
        if hk.get('reweight', True):
            self.set_reweight(self.memory_bank.label_bank.numpy(), hk.get('reweight_pow', 0.5))
        if n % hk['evaluate_interval'] == 0:
            sizes = np.bincount(self.memory_bank.label_bank.numpy(), minlength=self.num_classes)
            sys.stderr.write(f'iter {n}: empty_num: {(sizes == 0).sum()}  min_cluster: {sizes.min()}  max_cluster: {sizes.max()}  change_ratio {self.change_ratio:.4f}\n')

    def deal_with_small_clusters(self):
        mb = self.memory_bank
        hist = np.bincount(mb.label_bank.numpy(), minlength=self.num_classes)
        small = np.where(hist < self.min_cluster)[0].tolist()
        if not small:
            return
        for s in small:
            ind = np.where(mb.label_bank.numpy() == s)[0]
            if len(ind) > 0:
                inclusion = torch.from_numpy(np.setdiff1d(np.arange(self.num_classes), np.array(small), assume_unique=True))
                target_ind = torch.mm(mb.centroids[inclusion, :], mb.feature_bank[ind, :].permute(1, 0)).argmax(dim=0)
                mb.label_bank[ind] = inclusion[target_ind]
        for e in small:
            labels = mb.label_bank.numpy()
            assert (labels != e).all()
            max_cluster = int(np.bincount(labels, minlength=self.num_classes).argmax())
            inds = np.where(labels == max_cluster)[0]
            from sklearn.cluster import KMeans
            km = KMeans(n_clusters=2, random_state=0, max_iter=20, n_init=10).fit(mb.feature_bank[inds, :].numpy())
            sub1, sub2 = inds[km.labels_ == 0], inds[km.labels_ == 1]
            if not (len(sub1) > 0 and len(sub2) > 0):
                sub1 = np.random.choice(inds, len(inds) // 2, replace=False)
                sub2 = np.setdiff1d(inds, sub1, assume_unique=True)
            mb.label_bank[torch.from_numpy(sub2)] = e
            for c in (max_cluster, e):
                members = (mb.label_bank == c).nonzero().view(-1)
                mb.centroids[c, :] = mb.feature_bank[members, :].mean(dim=0)


KMEANS_INIT = 'k-means++'


def kmeans(feats, k, pca_dim, seed):
    """MMSelfSup Kmeans.cluster: preprocess_features (PCA-whitening to pca_dim, eigen_power -0.5, then
    row L2) and k-means with 20 iterations; scikit-learn's PCA(whiten=True) and KMeans(n_init=1) stand in
    for faiss (whitening differs from faiss's only by one global scale, which the L2 step removes)."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    x = feats.astype(np.float32)
    if pca_dim != -1:
        x = PCA(n_components=pca_dim, whiten=True, random_state=seed).fit_transform(x).astype(np.float32)
    x = x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-10)
    if k > len(x):
        fail(f'Kmeans: k ({k}) is larger than the number of samples ({len(x)})')
    # faiss starts from k random rows; scikit-learn's default is k-means++ (--kmeans-init)
    return KMeans(n_clusters=k, n_init=1, max_iter=20, random_state=seed, init=KMEANS_INIT).fit(x).labels_


ALGORITHMS = {'SimCLR': SimCLR, 'RotationPred': RotationPred, 'NPID': NPID, 'DenseCL': DenseCL, 'SwAV': SwAV,
              'DeepCluster': DeepCluster, 'ODC': ODC}


# ---------------------------------------------------------------- optimizer and schedule (mmcv)
def build_optimizer(model, o):
    if o['type'] != 'SGD':
        fail(f'optimizer {o["type"]} is not covered (SGD only)')
    base = dict(lr=o['lr'], momentum=o.get('momentum', 0), weight_decay=o.get('weight_decay', 0), nesterov=o.get('nesterov', False))
    rules = o.get('paramwise_options') or {}
    groups = []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        g = dict(base, params=[p])
        for pattern, opt in rules.items():
            if re.search(pattern, name):
                if 'lr_mult' in opt:
                    g['lr'] = base['lr'] * opt['lr_mult']
                if 'decay_mult' in opt:
                    g['weight_decay'] = base['weight_decay'] * opt['decay_mult']
                for k in ('momentum', 'weight_decay', 'lr'):
                    if k in opt:
                        g[k] = opt[k]
        g['initial_lr'] = g['lr']
        groups.append(g)
    return torch.optim.SGD(groups, lr=base['lr'], momentum=base['momentum'], weight_decay=base['weight_decay'], nesterov=base['nesterov'])


def lr_factor(lr_cfg, it, epoch, iters_per_epoch, max_iters, max_epochs):
    """mmcv LrUpdaterHook: the regular lr (cosine or step, per epoch or per iteration) times the warm-up factor."""
    by_epoch = lr_cfg.get('by_epoch', True)
    progress, total = (epoch, max_epochs) if by_epoch else (it, max_iters)
    policy = lr_cfg['policy'].lower()
    if policy == 'cosineannealing':
        if 'min_lr_ratio' in lr_cfg:
            lo = lr_cfg['min_lr_ratio']
            f = lo + 0.5 * (1 - lo) * (1 + math.cos(math.pi * progress / total))
            factor, floor = f, None
        else:
            factor = 0.5 * (1 + math.cos(math.pi * progress / total))
            floor = lr_cfg.get('min_lr', 0)
    elif policy == 'step':
        steps = lr_cfg['step'] if isinstance(lr_cfg['step'], list) else None
        n = sum(progress >= s for s in steps) if steps else progress // lr_cfg['step']
        factor, floor = lr_cfg.get('gamma', 0.1) ** n, None
    elif policy == 'fixed':
        factor, floor = 1.0, None
    else:
        fail(f'lr_config policy {lr_cfg["policy"]} is not covered')
    warm = 1.0
    if lr_cfg.get('warmup') and it < lr_cfg.get('warmup_iters', 0):
        w, n = lr_cfg.get('warmup_ratio', 0.1), lr_cfg['warmup_iters']
        if lr_cfg.get('warmup_by_epoch'):
            n *= iters_per_epoch
        if lr_cfg['warmup'] == 'linear':
            warm = 1 - (1 - it / n) * (1 - w)
        elif lr_cfg['warmup'] == 'constant':
            warm = w
        elif lr_cfg['warmup'] == 'exp':
            warm = w ** (1 - it / n)
    return factor, floor, warm


def set_lr(opt, lr_cfg, *progress):
    factor, floor, warm = lr_factor(lr_cfg, *progress)
    for g in opt.param_groups:
        lr = g['initial_lr'] * factor if floor is None else floor + (g['initial_lr'] - floor) * factor
        g['lr'] = lr * warm


# ---------------------------------------------------------------- kNN (src/eval/knn.ts)
def evenly_spaced(length, count):
    return list(range(length)) if count <= 0 or count >= length else [(i * length) // count for i in range(count)]


def knn_features(backbone, source, indices, pipeline, batch):
    was = backbone.training
    backbone.eval()
    feats, labels = [], []
    with torch.no_grad():
        for s in range(0, len(indices), batch):
            idx = indices[s:s + batch]
            x = torch.stack([pipeline(source.image(i)) for i in idx])
            f = F.adaptive_avg_pool2d(backbone(x)[-1], 1).flatten(1)
            feats.append(F.normalize(f, dim=1))
            labels.append(torch.from_numpy(source.labels[idx]))
    backbone.train(was)
    return torch.cat(feats), torch.cat(labels)


def knn_eval(backbone, cfg, n_bank, n_query):
    knn = cfg.get('knn') or {}
    if not (knn.get('train') and knn.get('val')):
        fail('the config has no knn.train / knn.val datasets')
    k, temp, bs = knn.get('k', 20), knn.get('temperature', 0.07), knn.get('samples_per_gpu', 256)
    t0 = time.perf_counter()
    out = []
    for part, n in (('train', n_bank), ('val', n_query)):
        d = knn[part]
        src = FashionMNIST(d['data_source'])
        out.append(knn_features(backbone, src, evenly_spaced(len(src), n), compose(d['pipeline']), bs))
    (bank, bank_y), (q, q_y) = out
    classes = int(max(bank_y.max(), q_y.max())) + 1
    kk = min(k, len(bank_y))
    top1 = top5 = 0
    for s in range(0, len(q_y), 256):
        sims, idx = (q[s:s + 256] @ bank.T).topk(kk, dim=1)
        votes = torch.zeros(len(sims), classes, dtype=torch.float64)
        votes.scatter_add_(1, bank_y[idx], torch.exp(sims.double() / temp))
        # descending votes, ties to the lower class (a stable sort of the negated votes)
        order = torch.sort(-votes, dim=1, stable=True).indices
        y = q_y[s:s + 256].unsqueeze(1)
        top1 += int((order[:, :1] == y).sum())
        top5 += int((order[:, :min(5, kk)] == y).any(dim=1).sum())
    n = len(q_y)
    return dict(k=k, temperature=temp, top1=100 * top1 / n, top5=100 * top5 / n, numTrain=len(bank_y), numVal=n,
                seconds=time.perf_counter() - t0)


# ---------------------------------------------------------------- training loop (mmcv runner)
def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--algo', default='simclr', choices=sorted(DEFAULT_CONFIGS))
    ap.add_argument('--config', help='ssl config (default: the algorithm\'s Fashion-MNIST recipe)')
    ap.add_argument('--iters', type=int, help='stop after N iterations (default: the config\'s whole run)')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--seed', type=int, help='default: the config\'s seed, else 0')
    ap.add_argument('--warmup', type=int, default=5, help='iterations left out of images/s')
    ap.add_argument('--knn', action='store_true', help='kNN top-1 of the random-init and the trained backbone')
    ap.add_argument('--knn-bank', type=int, default=10000, help='bank images, evenly spaced over train (0 = all 60k)')
    ap.add_argument('--knn-query', type=int, default=2000, help='query images, evenly spaced over test (0 = all 10k)')
    ap.add_argument('--cfg-options', nargs='*', default=[], help='passed to `ssl config show`')
    ap.add_argument('--kmeans-init', default='k-means++', choices=['k-means++', 'random'],
                    help="DeepCluster/ODC clustering's start: scikit-learn's k-means++ or k random rows as faiss")
    a = ap.parse_args()
    global KMEANS_INIT
    KMEANS_INIT = a.kmeans_init
    if a.threads < 1:
        fail('--threads must be at least 1')
    torch.set_num_threads(a.threads)
    config = a.config or DEFAULT_CONFIGS[a.algo]
    cfg = resolve_config(config, a.cfg_options)
    seed = a.seed if a.seed is not None else cfg.get('seed', 0) or 0
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)

    data = cfg['data']
    dataset = TrainSet(data['train'])
    batch = data['samples_per_gpu']
    sampler = EpochSampler(len(dataset), seed)
    loader = DataLoader(dataset, batch_size=batch, sampler=sampler, drop_last=data.get('drop_last', True),
                        num_workers=data.get('workers_per_gpu', 0))
    m = cfg['model']
    if m['type'] not in ALGORITHMS:
        fail(f'model {m["type"]} is not covered ({", ".join(ALGORITHMS)})')
    hooks = cfg.get('custom_hooks') or []
    ctx = dict(dataset=dataset, dataset_len=len(dataset), sampler=sampler, hooks=hooks, cfg=cfg)
    model = ALGORITHMS[m['type']](m, ctx)
    model.train()
    opt = build_optimizer(model, cfg['optimizer'])
    frozen = list(((cfg.get('optimizer_config') or {}).get('frozen_layers_cfg') or {}).items())

    runner = cfg['runner']
    iters_per_epoch = len(loader)
    if runner['type'] == 'IterBasedRunner':
        max_iters = runner['max_iters']
        max_epochs = math.ceil(max_iters / iters_per_epoch)
    else:
        max_epochs = runner['max_epochs']
        max_iters = max_epochs * iters_per_epoch
    stop = min(a.iters or max_iters, max_iters)
    interval = (cfg.get('log_config') or {}).get('interval', 10)

    knn_random = knn_eval(model.backbone, cfg, a.knn_bank, a.knn_query) if a.knn else None
    if knn_random:
        sys.stderr.write(f'kNN random init: top-1 {knn_random["top1"]:.2f}\n')
    losses, window, it, epoch = [], [], 0, 0
    t_start = t_warm = time.perf_counter()
    model.before_run(ctx)
    while it < stop:
        model.before_epoch(epoch)
        for data_batch in loader:
            if it >= stop:
                break
            set_lr(opt, cfg['lr_config'], it, epoch, iters_per_epoch, max_iters, max_epochs)
            model.before_iter(it)
            loss = model.forward_train(data_batch, it)
            opt.zero_grad()
            loss.backward()
            for layer, n in frozen:  # MMSelfSup's optimizer hook: no update of these layers before iteration n
                if it < n:
                    for name, p in model.named_parameters():
                        if layer in name:
                            p.grad = None
            opt.step()
            model.after_iter(it)
            window.append(float(loss))
            it += 1
            if it == a.warmup:
                t_warm = time.perf_counter()
            if it % interval == 0 or it == stop:
                losses.append(dict(iter=it, loss=sum(window) / len(window)))
                sys.stderr.write(f'iter {it}/{stop} lr {opt.param_groups[0]["lr"]:.5f} loss {losses[-1]["loss"]:.4f}\n')
                window = []
        if it % iters_per_epoch == 0:
            model.after_epoch(epoch)
        epoch += 1
    t_end = time.perf_counter()
    timed = it - a.warmup if it > a.warmup else it
    summary = dict(algo=m['type'], config=config, seed=seed, threads=a.threads, batch=batch, iters=it,
                   losses=losses, seconds=t_end - t_start,
                   images_per_s=timed * batch / (t_end - (t_warm if it > a.warmup else t_start)),
                   warmup_iters=a.warmup if it > a.warmup else 0, torch=torch.__version__)
    if a.knn:
        summary['knn_random'] = knn_random
        summary['knn_trained'] = knn_eval(model.backbone, cfg, a.knn_bank, a.knn_query)
        sys.stderr.write(f'kNN trained: top-1 {summary["knn_trained"]["top1"]:.2f}\n')
    print(json.dumps(summary))


if __name__ == '__main__':
    main()
