#!/usr/bin/python3
"""Writes PyTorch reference fixtures for ssl's first contrastive/siamese algorithms SimCLR, MoCo v1,
MoCo v2, BYOL, SimSiam and Barlow Twins (algo-<name>.safetensors), in the format of
tools/torch-algos-reference.py (whose hashed weights, step inputs and replay loop this script reuses).

Run where Debian's python3-torch is installed:
    /usr/bin/python3 tools/torch-contrastive-algos-reference.py [--out DIR] [NAME ...]

Each algorithm is MMSelfSup 0.x's `forward_train` with its neck and head written again in plain
PyTorch on the tiny ResNet_CIFAR of width 2. One process: MoCo's batch shuffle is the identity and
GatherLayer/concat_all_gather return the batch. MoCo's random queue and the momentum encoders'
copies are stored as `init.<name>`; BYOL's MomentumUpdateHook (cosine momentum) runs as the hook does.
"""
import importlib.util
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('torch_algos_reference', os.path.join(HERE, 'torch-algos-reference.py'))
algos = importlib.util.module_from_spec(spec)
spec.loader.exec_module(algos)
FEAT = algos.FEAT
SHAPE = [4, 16, 16, 3]


def copy_params(src, dst):
    for p, q in zip(src.parameters(), dst.parameters()):
        q.data.copy_(p.data)
        q.requires_grad = False


# ---------------------------------------------------------------- necks and heads (models/necks, models/heads)
class NonLinearNeck(nn.Module):
    """necks/nonlinear_neck.py: fc0-bn0, then (relu, fc_i, bn_i) with the last layer's own bias/bn options."""

    def __init__(self, in_channels, hid_channels, out_channels, num_layers=2, with_bias=False, with_last_bn=True,
                 with_last_bn_affine=True, with_last_bias=False, with_avg_pool=True):
        super().__init__()
        self.with_avg_pool = with_avg_pool
        self.relu = nn.ReLU()
        self.fc0 = nn.Linear(in_channels, hid_channels, bias=with_bias)
        self.bn0 = nn.BatchNorm1d(hid_channels)
        self.layers = []
        for i in range(1, num_layers):
            last = i == num_layers - 1
            ch = out_channels if last else hid_channels
            self.add_module(f'fc{i}', nn.Linear(hid_channels, ch, bias=with_last_bias if last else with_bias))
            bn = None
            if not last or with_last_bn:
                bn = f'bn{i}'
                self.add_module(bn, nn.BatchNorm1d(ch, affine=with_last_bn_affine if last else True))
            self.layers.append((f'fc{i}', bn))

    def forward(self, x):
        x = x[0]
        if self.with_avg_pool:
            x = F.adaptive_avg_pool2d(x, 1)
        x = self.bn0(self.fc0(x.view(x.size(0), -1)))
        for fc, bn in self.layers:
            x = getattr(self, fc)(self.relu(x))
            if bn is not None:
                x = getattr(self, bn)(x)
        return [x]


class LinearNeck(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.fc = nn.Linear(in_channels, out_channels)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(x[0], 1)
        return [self.fc(x.view(x.size(0), -1))]


class MoCoV2Neck(nn.Module):
    def __init__(self, in_channels, hid_channels, out_channels):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(in_channels, hid_channels), nn.ReLU(), nn.Linear(hid_channels, out_channels))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(x[0], 1)
        return [self.mlp(x.view(x.size(0), -1))]


class LatentPredictHead(nn.Module):
    """heads/latent_pred_head.py: -cos(predictor(input), target.detach()), batch mean."""

    def __init__(self, predictor):
        super().__init__()
        self.predictor = predictor

    def forward(self, inp, target):
        pred = F.normalize(self.predictor([inp])[0], dim=1)
        return -(pred * F.normalize(target.detach(), dim=1)).sum(dim=1).mean()


class LatentCrossCorrelationHead(nn.Module):
    """heads/latent_pred_head.py: Barlow Twins' loss on the BN-normalised (affine-free) embeddings."""

    def __init__(self, in_channels, lambd=0.0051):
        super().__init__()
        self.lambd = lambd
        self.bn = nn.BatchNorm1d(in_channels, affine=False)

    def forward(self, inp, target):
        c = self.bn(inp).T @ self.bn(target)
        c = c / inp.size(0)  # world size 1
        on_diag = (torch.diagonal(c) - 1).pow(2).sum()
        n = c.shape[0]
        off_diag = c.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten().pow(2).sum()
        return on_diag + self.lambd * off_diag


def neck_cfg(**kw):
    return dict(type='NonLinearNeck', **kw)


# ---------------------------------------------------------------- algorithms (models/algorithms)
class Base(nn.Module):
    # lr 1e-3: at torch-algos-reference.py's 0.01 these tiny nets' losses jump by 2x within 5 steps and
    # float32 rounding (1e-5 after step 1 in both engines) grows to 1e-1 by step 5 in SimCLR, BYOL,
    # SimSiam and Barlow Twins; MoCo is stable at 0.01 and keeps it
    optimizer = dict(algos.OPTIMIZER, lr=1e-3)
    shape = SHAPE
    views = 2
    hooks = []

    def inputs(self, k):
        return {}


class SimCLR(Base):
    optimizer = dict(algos.OPTIMIZER, lr=1e-4)  # its step-0 gradients are 10x BYOL's
    T = 0.1

    def __init__(self):
        super().__init__()
        kw = dict(in_channels=FEAT, hid_channels=32, out_channels=8, num_layers=2, with_avg_pool=True)
        self.cfg = dict(type='SimCLR', backbone=algos.BACKBONE, neck=neck_cfg(**kw), head=dict(type='ContrastiveHead', temperature=self.T))
        self.backbone = algos.tiny_backbone()
        self.neck = NonLinearNeck(**kw)

    def forward_train(self, img, **_):
        n = img[0].size(0)
        # MMSelfSup stacks the views per sample: rows 2i and 2i+1 are the two views of sample i
        x = torch.stack(img, 1).reshape(n * 2, *img[0].shape[1:])
        z = self.neck(self.backbone(x))[0]
        z = z / (torch.norm(z, p=2, dim=1, keepdim=True) + 1e-10)
        s = z @ z.T
        mask = 1 - torch.eye(2 * n, dtype=torch.uint8)
        pos_ind = (torch.arange(2 * n), 2 * torch.arange(n).unsqueeze(1).repeat(1, 2).view(-1))
        neg_mask = torch.ones((2 * n, 2 * n - 1), dtype=torch.uint8)
        neg_mask[pos_ind] = 0
        s = torch.masked_select(s, mask == 1).reshape(2 * n, -1)
        positive = s[pos_ind].unsqueeze(1)
        negative = torch.masked_select(s, neg_mask == 1).reshape(2 * n, -1)
        return algos.contrastive_head(positive, negative, self.T)


class MoCo(Base):
    optimizer = algos.OPTIMIZER
    QUEUE, DIM, T, MOMENTUM = 16, 8, 0.2, 0.9

    def __init__(self):
        super().__init__()
        self.cfg = dict(type='MoCo', backbone=algos.BACKBONE, neck=self.neck_cfg(), head=dict(type='ContrastiveHead', temperature=self.T),
                        queue_len=self.QUEUE, feat_dim=self.DIM, momentum=self.MOMENTUM)
        self.encoder_q = nn.Sequential(algos.tiny_backbone(), self.make_neck())
        self.encoder_k = nn.Sequential(algos.tiny_backbone(), self.make_neck())
        self.register_buffer('queue', torch.zeros(self.DIM, self.QUEUE))
        self.register_buffer('queue_ptr', torch.zeros(1, dtype=torch.long))

    def neck_cfg(self):
        return dict(type='LinearNeck', in_channels=FEAT, out_channels=self.DIM)

    def make_neck(self):
        return LinearNeck(FEAT, self.DIM)

    def after_hash(self):
        copy_params(self.encoder_q, self.encoder_k)
        g = torch.Generator().manual_seed(13)
        self.queue.copy_(F.normalize(torch.randn(self.DIM, self.QUEUE, generator=g), dim=0))
        return dict(queue=self.queue)

    def forward_train(self, img, **_):
        im_q, im_k = img
        q = F.normalize(self.encoder_q(im_q)[0], dim=1)
        with torch.no_grad():
            for p, pk in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
                pk.data = pk.data * self.MOMENTUM + p.data * (1. - self.MOMENTUM)
            k = F.normalize(self.encoder_k(im_k)[0], dim=1)
        l_pos = torch.einsum('nc,nc->n', [q, k]).unsqueeze(-1)
        l_neg = torch.einsum('nc,ck->nk', [q, self.queue.clone().detach()])
        loss = algos.contrastive_head(l_pos, l_neg, self.T)
        with torch.no_grad():
            n, ptr = k.shape[0], int(self.queue_ptr)
            self.queue[:, ptr:ptr + n] = k.transpose(0, 1)
            self.queue_ptr[0] = (ptr + n) % self.QUEUE
        return loss


class MoCoV2(MoCo):
    def neck_cfg(self):
        return dict(type='MoCoV2Neck', in_channels=FEAT, hid_channels=32, out_channels=self.DIM, with_avg_pool=True)

    def make_neck(self):
        return MoCoV2Neck(FEAT, 32, self.DIM)


class BYOL(Base):
    shape = [16, 16, 16, 3]  # with 4 rows rounding grew to 6e-3 (a loss near 0) and 7e-4 (state) in 5 steps
    BASE_MOMENTUM = 0.99
    hooks = [dict(type='MomentumUpdateHook')]

    def __init__(self):
        super().__init__()
        proj = dict(in_channels=FEAT, hid_channels=32, out_channels=8, with_bias=True, with_last_bn=False, with_avg_pool=True)
        pred = dict(in_channels=8, hid_channels=32, out_channels=8, with_bias=True, with_last_bn=False, with_avg_pool=False)
        self.cfg = dict(type='BYOL', backbone=algos.BACKBONE, neck=neck_cfg(**proj),
                        head=dict(type='LatentPredictHead', predictor=neck_cfg(**pred)), base_momentum=self.BASE_MOMENTUM)
        self.online_net = nn.Sequential(algos.tiny_backbone(), NonLinearNeck(**proj))
        self.target_net = nn.Sequential(algos.tiny_backbone(), NonLinearNeck(**proj))
        self.head = LatentPredictHead(NonLinearNeck(**pred))
        self.momentum = self.BASE_MOMENTUM

    def after_hash(self):
        copy_params(self.online_net, self.target_net)
        return {}

    def before_iter(self, k, steps):
        # MomentumUpdateHook.before_train_iter (end_momentum 1)
        self.momentum = 1. - (1. - self.BASE_MOMENTUM) * (math.cos(math.pi * k / float(steps)) + 1) / 2

    @torch.no_grad()
    def after_iter(self, k, steps):
        for p, pt in zip(self.online_net.parameters(), self.target_net.parameters()):
            pt.data = pt.data * self.momentum + p.data * (1. - self.momentum)

    def forward_train(self, img, **_):
        v1, v2 = img
        o1, o2 = self.online_net(v1)[0], self.online_net(v2)[0]
        with torch.no_grad():
            t1, t2 = self.target_net(v1)[0].clone().detach(), self.target_net(v2)[0].clone().detach()
        return 2. * (self.head(o1, t2) + self.head(o2, t1))


class SimSiam(Base):
    def __init__(self):
        super().__init__()
        proj = dict(in_channels=FEAT, hid_channels=32, out_channels=32, num_layers=3, with_last_bn_affine=False, with_avg_pool=True)
        pred = dict(in_channels=32, hid_channels=8, out_channels=32, with_avg_pool=False, with_last_bn=False, with_last_bias=True)
        self.cfg = dict(type='SimSiam', backbone=algos.BACKBONE, neck=neck_cfg(**proj), head=dict(type='LatentPredictHead', predictor=neck_cfg(**pred)))
        self.encoder = nn.Sequential(algos.tiny_backbone(), NonLinearNeck(**proj))
        self.head = LatentPredictHead(NonLinearNeck(**pred))

    def forward_train(self, img, **_):
        z1, z2 = self.encoder(img[0])[0], self.encoder(img[1])[0]
        return 0.5 * (self.head(z1, z2) + self.head(z2, z1))


class BarlowTwins(Base):
    optimizer = dict(algos.OPTIMIZER, lr=1e-5)  # at 1e-4 rounding still grows 1e-6 -> 7e-3 in 5 steps
    shape = [16, 16, 16, 3]  # BN statistics over 4 rows made the cross-correlation chaotic (1e-6 -> 1e-1 in 4 steps)
    salt = 3  # salt 1 puts a step-0 ReLU input 1.6e-7 from its kink

    def __init__(self):
        super().__init__()
        proj = dict(in_channels=FEAT, hid_channels=32, out_channels=32, num_layers=3, with_last_bias=False, with_last_bn=False, with_avg_pool=True)
        self.cfg = dict(type='BarlowTwins', backbone=algos.BACKBONE, neck=neck_cfg(**proj), head=dict(type='LatentCrossCorrelationHead', in_channels=32))
        self.backbone = algos.tiny_backbone()
        self.neck = NonLinearNeck(**proj)
        self.head = LatentCrossCorrelationHead(32)

    def forward_train(self, img, **_):
        z1 = self.neck(self.backbone(img[0]))[0]
        z2 = self.neck(self.backbone(img[1]))[0]
        return self.head(z1, z2)


ALGORITHMS = [('simclr', SimCLR), ('mocov1', MoCo), ('mocov2', MoCoV2), ('byol', BYOL), ('simsiam', SimSiam), ('barlowtwins', BarlowTwins)]


def main():
    torch.set_num_threads(1)
    args = sys.argv[1:]
    out_dir = algos.OUT
    if args[:1] == ['--out']:
        out_dir, args = args[1], args[2:]
    os.makedirs(out_dir, exist_ok=True)
    for name, cls in ALGORITHMS:
        if not args or name in args:
            algos.write(name, cls(), out_dir)


if __name__ == '__main__':
    sys.exit(main())
