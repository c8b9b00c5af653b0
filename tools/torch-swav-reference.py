#!/usr/bin/python3
"""Writes the PyTorch reference fixture of the whole SwAV model (test/fixtures/torch/algo-swav.safetensors),
in the format of tools/torch-algos-reference.py (whose hashed weights, step inputs and replay loop it reuses).

Run where Debian's python3-torch is installed:
    /usr/bin/python3 tools/torch-swav-reference.py [--out DIR] [swav]

MMSelfSup 0.x's SwAV written again in plain PyTorch on the tiny ResNet_CIFAR-18 of the other fixtures:
  - SwAV.forward_train: 2 crops of 16x16 and 2 of 8x8, each resolution group concatenated through the
    backbone (torch.unique_consecutive over the widths), SwAVNeck (avg pool, fc-BN-ReLU-fc, with_l2norm)
    over all crops, SwAVHead (prototypes normalised before the forward, distributed_sinkhorn on one
    rank, the swapped prediction, the queue filled in the forward);
  - SwAVHook with one-step epochs: the queue [2, 8, 8] is created at epoch_queue_starts=1, use_queue is
    reset every epoch; it is filled at steps 1 and 2 and used from step 3 on (its last row is 0 before);
  - DistOptimizerHook(frozen_layers_cfg=dict(prototypes=2)): the prototypes' gradient is dropped for
    steps 0 and 1 and applied from step 2 on;
  - MMSelfSup's LARS (the optimizer of its SwAV configs), momentum and weight decay.
"""
import importlib.util
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.optimizer import Optimizer

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('torch_algos_reference', os.path.join(HERE, 'torch-algos-reference.py'))
algos = importlib.util.module_from_spec(spec)
spec.loader.exec_module(algos)


class LARS(Optimizer):
    """mmselfsup/core/optimizer/optimizers.py LARS (trust ratio from the parameter's and gradient's norms)."""

    def __init__(self, params, lr, momentum=0., weight_decay=0., eta=0.001, eps=1e-8):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, eta=eta))
        self.eps = eps

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            wd, momentum, eta, lr = group['weight_decay'], group['momentum'], group['eta'], group['lr']
            for p in group['params']:
                if p.grad is None:
                    continue
                d_p = p.grad
                weight_norm = torch.norm(p).item()
                grad_norm = torch.norm(d_p).item()
                local_lr = eta * weight_norm / (grad_norm + wd * weight_norm + self.eps) if weight_norm != 0 and grad_norm != 0 else 1.
                d_p = d_p.add(p, alpha=wd).mul(local_lr * lr)
                if momentum != 0:
                    state = self.state[p]
                    if 'momentum_buffer' not in state:
                        buf = state['momentum_buffer'] = torch.clone(d_p).detach()
                    else:
                        buf = state['momentum_buffer']
                        buf.mul_(momentum).add_(d_p)
                    d_p = buf
                p.add_(-d_p)


@torch.no_grad()
def distributed_sinkhorn(out, sinkhorn_iterations, world_size, epsilon):
    """mmselfsup/utils/distributed_sinkhorn.py with dist not initialised (one process)."""
    eps_num_stab = 1e-12
    Q = torch.exp(out / epsilon).t()
    B = Q.shape[1] * world_size
    K = Q.shape[0]
    Q /= torch.sum(Q)
    for _ in range(sinkhorn_iterations):
        u = torch.sum(Q, dim=1, keepdim=True)
        if len(torch.nonzero(u == 0)) > 0:
            Q += eps_num_stab
            u = torch.sum(Q, dim=1, keepdim=True, dtype=Q.dtype)
        Q /= u
        Q /= K
        Q /= torch.sum(Q, dim=0, keepdim=True)
        Q /= B
    Q *= B
    return Q.t()


class SwAVNeck(nn.Module):
    def __init__(self, in_channels, hid_channels, out_channels):
        super().__init__()
        self.projection_neck = nn.Sequential(nn.Linear(in_channels, hid_channels), nn.BatchNorm1d(hid_channels), nn.ReLU(),
                                             nn.Linear(hid_channels, out_channels))

    def forward(self, x):
        feat_vec = torch.cat([F.adaptive_avg_pool2d(_x[0], 1) for _x in x])
        feat_vec = feat_vec.view(feat_vec.size(0), -1)
        return [F.normalize(self.projection_neck(feat_vec), dim=1, p=2)]


class SwAVHead(nn.Module):
    def __init__(self, feat_dim, num_prototypes, num_crops, crops_for_assign, temperature, epsilon, sinkhorn_iterations):
        super().__init__()
        self.num_crops, self.crops_for_assign = num_crops, crops_for_assign
        self.temperature, self.epsilon, self.sinkhorn_iterations = temperature, epsilon, sinkhorn_iterations
        self.use_queue = False
        self.queue = None
        self.prototypes = nn.Linear(feat_dim, num_prototypes, bias=False)

    def forward(self, x):
        with torch.no_grad():
            w = nn.functional.normalize(self.prototypes.weight.data.clone(), dim=1, p=2)
            self.prototypes.weight.copy_(w)
        embedding, output = x, self.prototypes(x)
        embedding = embedding.detach()
        bs = int(embedding.size(0) / sum(self.num_crops))
        loss = 0
        for i, crop_id in enumerate(self.crops_for_assign):
            with torch.no_grad():
                out = output[bs * crop_id:bs * (crop_id + 1)].detach()
                if self.queue is not None:
                    if self.use_queue or not torch.all(self.queue[i, -1, :] == 0):
                        self.use_queue = True
                        out = torch.cat((torch.mm(self.queue[i], self.prototypes.weight.t()), out))
                    self.queue[i, bs:] = self.queue[i, :-bs].clone()
                    self.queue[i, :bs] = embedding[crop_id * bs:(crop_id + 1) * bs]
                q = distributed_sinkhorn(out, self.sinkhorn_iterations, 1, self.epsilon)[-bs:]
            subloss = 0
            for v in np.delete(np.arange(np.sum(self.num_crops)), crop_id):
                z = output[bs * v:bs * (v + 1)] / self.temperature
                subloss -= torch.mean(torch.sum(q * nn.functional.log_softmax(z, dim=1), dim=1))
            loss += subloss / (np.sum(self.num_crops) - 1)
        return loss / len(self.crops_for_assign)


class SwAV(nn.Module):
    N, DIM, HID, K = 4, 8, 32, 10
    NUM_CROPS = [2, 2]
    QUEUE_STARTS, QUEUE_LENGTH, FREEZE = 1, 8, 2
    view_shapes = [[N, 16, 16, 3]] * 2 + [[N, 8, 8, 3]] * 2
    shape = view_shapes[0]
    views = 4
    salt = 1
    epoch_length = 1
    cfg = dict(type='SwAV', backbone=algos.BACKBONE,
               neck=dict(type='SwAVNeck', in_channels=algos.FEAT, hid_channels=HID, out_channels=DIM, with_avg_pool=True, with_l2norm=True,
                         norm_cfg=dict(type='BN1d')),
               head=dict(type='SwAVHead', feat_dim=DIM, num_prototypes=K, num_crops=NUM_CROPS, crops_for_assign=[0, 1], temperature=0.1,
                         epsilon=0.05, sinkhorn_iterations=3))
    hooks = [dict(type='SwAVHook', batch_size=N, epoch_queue_starts=QUEUE_STARTS, crops_for_assign=[0, 1], feat_dim=DIM, queue_length=QUEUE_LENGTH)]
    # LARS as the SwAV configs (lr 4.8 of lars_coslr-200e_in1k.py) but weight decay 1e-4, not 1e-6: the neck's
    # fc bias ahead of BatchNorm has a zero gradient in exact arithmetic, and with 1e-6 LARS's trust ratio
    # ‖p‖ / (‖g‖ + wd‖p‖) is set by that gradient's float rounding noise (~1e-8), a full-size step in a
    # direction no two float32 runs agree on (PyTorch against itself included); with 1e-4 the decay sets it
    optimizer = dict(type='LARS', lr=4.8, momentum=0.9, weight_decay=1e-3)
    optimizer_config = dict(frozen_layers_cfg=dict(prototypes=FREEZE))

    def __init__(self):
        super().__init__()
        self.backbone = algos.tiny_backbone()
        self.neck = SwAVNeck(algos.FEAT, self.HID, self.DIM)
        self.head = SwAVHead(self.DIM, self.K, self.NUM_CROPS, [0, 1], 0.1, 0.05, 3)
        self.queue_used = []

    def make_optimizer(self, params):
        o = self.optimizer
        return LARS(params, lr=o['lr'], momentum=o['momentum'], weight_decay=o['weight_decay'])

    def inputs(self, k):
        return {}

    def before_iter(self, k, _steps):
        if k % self.epoch_length == 0:
            # SwAVHook.before_train_epoch (queue_length is already a multiple of batch_size)
            if k // self.epoch_length >= self.QUEUE_STARTS and self.head.queue is None:
                self.head.queue = torch.zeros(len(self.head.crops_for_assign), self.QUEUE_LENGTH, self.DIM)
            self.head.use_queue = False

    def forward_train(self, img, **_):
        idx_crops = torch.cumsum(torch.unique_consecutive(torch.tensor([x.shape[-1] for x in img]), return_counts=True)[1], 0)
        start_idx, output = 0, []
        for end_idx in idx_crops:
            output.append(self.backbone(torch.cat(img[start_idx:end_idx])))
            start_idx = end_idx
        loss = self.head(self.neck(output)[0])
        self.queue_used.append(float(self.head.use_queue))
        return loss

    def extra(self):
        return {'swav.queue.final': self.head.queue, 'swav.queue_used': torch.tensor(self.queue_used)}


def main():
    torch.set_num_threads(1)
    args = sys.argv[1:]
    out_dir = algos.OUT
    if args[:1] == ['--out']:
        out_dir, args = args[1], args[2:]
    os.makedirs(out_dir, exist_ok=True)
    if not args or 'swav' in args:
        model = SwAV()
        algos.write('swav', model, out_dir)
        print('swav: queue used at steps', model.queue_used)


if __name__ == '__main__':
    sys.exit(main())
