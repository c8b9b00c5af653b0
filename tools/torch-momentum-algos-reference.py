#!/usr/bin/python3
"""Writes PyTorch reference fixtures for ssl's momentum-encoder algorithms DenseCL and MoCo v3
(test/fixtures/torch/algo-<name>.safetensors), in the format of tools/torch-algos-reference.py
(whose hashed weights, step inputs and replay loop this script reuses).

Run where Debian's python3-torch is installed:
    /usr/bin/python3 tools/torch-momentum-algos-reference.py [--out DIR] [NAME ...]

Each algorithm is MMSelfSup 0.x's `forward_train` with its neck and head written again in plain
PyTorch on tiny models (a ResNet_CIFAR of width 2, a 2-layer ViT of width 16). One process: the
batch shuffle is the identity and all_gather returns the batch. Random state MMSelfSup draws at
construction (the queues) and the copies its __init__ makes (key/momentum encoder = online one) are
stored as `init.<name>` (the replay
copies the encoders itself, as ssl's afterInitWeights does); the step-k hook schedules (DenseCLHook's loss_lambda, MomentumUpdateHook's
cosine momentum) run as the hooks do, and the fixture names the hooks so the replay runs ssl's.
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
ref = algos.ref


def contrastive_loss(pos, neg, temperature):
    """ContrastiveHead: cross entropy of [pos, neg] / T against label 0."""
    return algos.contrastive_head(pos, neg, temperature)


def copy_params(src, dst):
    """The momentum encoder starts as a copy of the online one (parameters only, as MMSelfSup)."""
    for p, q in zip(src.parameters(), dst.parameters()):
        q.data.copy_(p.data)
        q.requires_grad = False


def random_queue(feat_dim, queue_len, g):
    return F.normalize(torch.randn(feat_dim, queue_len, generator=g), dim=0)


# ---------------------------------------------------------------- DenseCL (algorithms/densecl.py, necks/densecl_neck.py)
class DenseCLNeck(nn.Module):
    def __init__(self, in_channels, hid_channels, out_channels, num_grid=None):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(in_channels, hid_channels), nn.ReLU(), nn.Linear(hid_channels, out_channels))
        self.with_pool = num_grid is not None
        if self.with_pool:
            self.pool = nn.AdaptiveAvgPool2d((num_grid, num_grid))
        self.mlp2 = nn.Sequential(nn.Conv2d(in_channels, hid_channels, 1), nn.ReLU(), nn.Conv2d(hid_channels, out_channels, 1))

    def forward(self, x):
        x = x[0]
        avgpooled_x = self.mlp(F.adaptive_avg_pool2d(x, 1).view(x.size(0), -1))
        if self.with_pool:
            x = self.pool(x)
        x = self.mlp2(x)
        avgpooled_x2 = F.adaptive_avg_pool2d(x, 1).view(x.size(0), -1)
        return [avgpooled_x, x.view(x.size(0), x.size(1), -1), avgpooled_x2]


class DenseCL(nn.Module):
    QUEUE, DIM, T, MOMENTUM, LAMBDA = 16, 8, 0.2, 0.9, 0.5
    shape = [4, 32, 32, 3]
    views = 2
    num_grid = None
    hooks = []

    def __init__(self):
        super().__init__()
        neck = dict(type='DenseCLNeck', in_channels=algos.FEAT, hid_channels=32, out_channels=self.DIM, num_grid=self.num_grid)
        self.cfg = dict(type='DenseCL', backbone=algos.BACKBONE, neck=neck, head=dict(type='ContrastiveHead', temperature=self.T),
                        queue_len=self.QUEUE, feat_dim=self.DIM, momentum=self.MOMENTUM, loss_lambda=self.LAMBDA)
        self.encoder_q = nn.Sequential(algos.tiny_backbone(), DenseCLNeck(algos.FEAT, 32, self.DIM, self.num_grid))
        self.encoder_k = nn.Sequential(algos.tiny_backbone(), DenseCLNeck(algos.FEAT, 32, self.DIM, self.num_grid))
        self.register_buffer('queue', torch.zeros(self.DIM, self.QUEUE))
        self.register_buffer('queue_ptr', torch.zeros(1, dtype=torch.long))
        self.register_buffer('queue2', torch.zeros(self.DIM, self.QUEUE))
        self.register_buffer('queue2_ptr', torch.zeros(1, dtype=torch.long))
        self.loss_lambda = self.LAMBDA

    def after_hash(self):
        copy_params(self.encoder_q, self.encoder_k)
        g = torch.Generator().manual_seed(13)
        self.queue.copy_(random_queue(self.DIM, self.QUEUE, g))
        self.queue2.copy_(random_queue(self.DIM, self.QUEUE, g))
        return dict(queue=self.queue, queue2=self.queue2)

    def inputs(self, k):
        return {}

    @torch.no_grad()
    def _enqueue(self, queue, ptr_buf, keys):
        n, ptr = keys.shape[0], int(ptr_buf)
        queue[:, ptr:ptr + n] = keys.transpose(0, 1)
        ptr_buf[0] = (ptr + n) % self.QUEUE

    def forward_train(self, img, **_):
        im_q, im_k = img
        q_b = self.encoder_q[0](im_q)
        q, q_grid, q2 = self.encoder_q[1](q_b)
        q_b = q_b[0]
        q_b = F.normalize(q_b.view(q_b.size(0), q_b.size(1), -1), dim=1)
        q, q_grid = F.normalize(q, dim=1), F.normalize(q_grid, dim=1)
        with torch.no_grad():
            for p, pk in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
                pk.data = pk.data * self.MOMENTUM + p.data * (1. - self.MOMENTUM)
            k_b = self.encoder_k[0](im_k)
            k, k_grid, k2 = self.encoder_k[1](k_b)
            k_b = k_b[0]
            k_b = F.normalize(k_b.view(k_b.size(0), k_b.size(1), -1), dim=1)
            k, k2, k_grid = F.normalize(k, dim=1), F.normalize(k2, dim=1), F.normalize(k_grid, dim=1)
        l_pos = torch.einsum('nc,nc->n', [q, k]).unsqueeze(-1)
        l_neg = torch.einsum('nc,ck->nk', [q, self.queue.clone().detach()])
        densecl_sim_ind = torch.matmul(q_b.permute(0, 2, 1), k_b).max(dim=2)[1]
        indexed_k_grid = torch.gather(k_grid, 2, densecl_sim_ind.unsqueeze(1).expand(-1, k_grid.size(1), -1))
        l_pos_dense = (q_grid * indexed_k_grid).sum(1).view(-1).unsqueeze(-1)
        q_grid = q_grid.permute(0, 2, 1)
        q_grid = q_grid.reshape(-1, q_grid.size(2))
        l_neg_dense = torch.einsum('nc,ck->nk', [q_grid, self.queue2.clone().detach()])
        loss_single = contrastive_loss(l_pos, l_neg, self.T) * (1 - self.loss_lambda)
        loss_dense = contrastive_loss(l_pos_dense, l_neg_dense, self.T) * self.loss_lambda
        self._enqueue(self.queue, self.queue_ptr, k)
        self._enqueue(self.queue2, self.queue2_ptr, k2)
        return loss_single + loss_dense


class DenseCLGrid(DenseCL):
    """num_grid=2 on 16×16 inputs (a 2×2 map: the correspondence indexes the grid by backbone
    position, so MMSelfSup needs num_grid equal to the map size) and DenseCLHook(start_iters=2):
    loss_lambda 0 for steps 0 and 1."""
    shape = [4, 16, 16, 3]
    num_grid = 2
    START = 2
    hooks = [dict(type='DenseCLHook', start_iters=START)]

    def before_iter(self, k, steps):
        self.loss_lambda = self.LAMBDA if k >= self.START else 0.


# ---------------------------------------------------------------- MoCo v3 (algorithms/mocov3.py, heads/mocov3_head.py,
# necks/nonlinear_neck.py with vit_backbone, backbones/vision_transformer.py, core/hooks/momentum_update_hook.py)
class NonLinearNeck(nn.Module):
    def __init__(self, in_channels, hid_channels, out_channels, num_layers, with_last_bn_affine, vit_backbone):
        super().__init__()
        self.vit_backbone = vit_backbone
        self.relu = nn.ReLU()
        self.fc0 = nn.Linear(in_channels, hid_channels, bias=False)
        self.bn0 = nn.BatchNorm1d(hid_channels)
        self.names = []
        for i in range(1, num_layers):
            last = i == num_layers - 1
            self.add_module(f'fc{i}', nn.Linear(hid_channels, out_channels if last else hid_channels, bias=False))
            self.add_module(f'bn{i}', nn.BatchNorm1d(out_channels if last else hid_channels, affine=with_last_bn_affine or not last))
            self.names.append(i)

    def forward(self, x):
        x = x[0]
        if self.vit_backbone:
            x = x[-1]
        x = self.bn0(self.fc0(x.view(x.size(0), -1)))
        for i in self.names:
            x = getattr(self, f'bn{i}')(getattr(self, f'fc{i}')(self.relu(x)))
        return [x]


class MoCoV3Head(nn.Module):
    def __init__(self, predictor, temperature):
        super().__init__()
        self.predictor = predictor
        self.temperature = temperature

    def forward(self, base_out, momentum_out):
        pred = F.normalize(self.predictor([base_out])[0], dim=1)
        target = F.normalize(momentum_out, dim=1)  # concat_all_gather: one process
        logits = torch.einsum('nc,mc->nm', [pred, target]) / self.temperature
        labels = torch.arange(logits.shape[0], dtype=torch.long)  # + N * rank, rank 0
        return 2 * self.temperature * nn.CrossEntropyLoss()(logits, labels)


class MoCoV3(nn.Module):
    D, LAYERS, HEADS, FF, IMG, PATCH = 16, 2, 2, 32, 8, 4
    HID, OUT, T, BASE_MOMENTUM = 32, 8, 0.2, 0.99
    shape = [8, 8, 8, 3]
    views = 2
    # SGD, not the config's AdamW: some gradients are 0 in exact arithmetic (the key third of each qkv
    # bias, which softmax ignores; the final LayerNorm's bias, which fc0's BatchNorm removes) and Adam
    # scales their float rounding noise into full-size steps, in PyTorch float32 as well
    hooks = [dict(type='MomentumUpdateHook')]

    def __init__(self):
        super().__init__()
        arch = dict(embed_dims=self.D, num_layers=self.LAYERS, num_heads=self.HEADS, feedforward_channels=self.FF)
        neck = dict(type='NonLinearNeck', in_channels=self.D, hid_channels=self.HID, out_channels=self.OUT, num_layers=3, with_bias=False,
                    with_last_bn=True, with_last_bn_affine=False, with_last_bias=False, with_avg_pool=False, vit_backbone=True)
        predictor = dict(type='NonLinearNeck', in_channels=self.OUT, hid_channels=self.HID, out_channels=self.OUT, num_layers=2, with_bias=False,
                         with_last_bn=True, with_last_bn_affine=False, with_last_bias=False, with_avg_pool=False)
        self.cfg = dict(type='MoCoV3', base_momentum=self.BASE_MOMENTUM,
                        backbone=dict(type='VisionTransformer', arch=arch, img_size=self.IMG, patch_size=self.PATCH, stop_grad_conv1=True),
                        neck=neck, head=dict(type='MoCoV3Head', predictor=predictor, temperature=self.T))
        self.base_encoder = nn.Sequential(self.vit(), NonLinearNeck(self.D, self.HID, self.OUT, 3, False, True))
        self.momentum_encoder = nn.Sequential(self.vit(), NonLinearNeck(self.D, self.HID, self.OUT, 3, False, True))
        self.head = MoCoV3Head(NonLinearNeck(self.OUT, self.HID, self.OUT, 2, False, False), self.T)
        self.momentum = self.BASE_MOMENTUM

    def vit(self):
        return ref.VisionTransformer(self.D, self.LAYERS, self.HEADS, self.FF, self.IMG, self.PATCH)

    def after_hash(self):
        # VisionTransformer.init_weights: fixed 2-D sin-cos pos_embed; stop_grad_conv1 freezes the patch projection
        res = self.IMG // self.PATCH
        for enc in (self.base_encoder, self.momentum_encoder):
            vit = enc[0]
            vit.pos_embed.data.copy_(sincos(res, self.D))
            vit.pos_embed.requires_grad = False
            vit.patch_embed.projection.weight.requires_grad = False
            vit.patch_embed.projection.bias.requires_grad = False
        copy_params(self.base_encoder, self.momentum_encoder)
        # ssl builds the same sin-cos table: stored to be compared, not loaded
        return {'base_encoder.0.pos_embed': self.base_encoder[0].pos_embed}

    def inputs(self, k):
        return {}

    def before_iter(self, k, steps):
        # MomentumUpdateHook.before_train_iter (end_momentum 1)
        self.momentum = 1. - (1. - self.BASE_MOMENTUM) * (math.cos(math.pi * k / float(steps)) + 1) / 2

    @torch.no_grad()
    def after_iter(self, k, steps):
        # MomentumUpdateHook.after_train_iter, after the optimizer step
        for p, pm in zip(self.base_encoder.parameters(), self.momentum_encoder.parameters()):
            pm.data = pm.data * self.momentum + p.data * (1. - self.momentum)

    def forward_train(self, img, **_):
        q1 = self.base_encoder(img[0])[0]
        q2 = self.base_encoder(img[1])[0]
        with torch.no_grad():
            k1 = self.momentum_encoder(img[0])[0]
            k2 = self.momentum_encoder(img[1])[0]
        return self.head(q1, k2) + self.head(q2, k1)


def sincos(res, d, temperature=10000.):
    """build_2d_sincos_position_embedding with a zero cls-token row first."""
    grid_w, grid_h = torch.meshgrid(torch.arange(res, dtype=torch.float32), torch.arange(res, dtype=torch.float32), indexing='ij')
    pos_dim = d // 4
    omega = 1. / (temperature ** (torch.arange(pos_dim, dtype=torch.float32) / pos_dim))
    out_w = torch.einsum('m,d->md', [grid_w.flatten(), omega])
    out_h = torch.einsum('m,d->md', [grid_h.flatten(), omega])
    pe = torch.cat([torch.sin(out_w), torch.cos(out_w), torch.sin(out_h), torch.cos(out_h)], dim=1)[None]
    return torch.cat([torch.zeros([1, 1, d]), pe], dim=1)


ALGORITHMS = [('densecl', DenseCL), ('densecl-grid', DenseCLGrid), ('mocov3', MoCoV3)]


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
