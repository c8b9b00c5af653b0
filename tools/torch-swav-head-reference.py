#!/usr/bin/python3
"""Writes test/fixtures/torch/swav-head.json: MMSelfSup 0.x SwAVHead.forward (prototype normalisation,
distributed_sinkhorn on one rank, swapped prediction, the queue) written again in plain PyTorch.

Run where Debian's python3-torch is installed:  /usr/bin/python3 tools/torch-swav-head-reference.py [--out FILE]

Each case stores the head's input `x` [sum(num_crops)*bs, feat_dim], the prototype weight before
normalisation (PyTorch layout [num_prototypes, feat_dim]), the queue before the step (or null), and
what PyTorch gives: the loss, d loss / d x, d loss / d prototypes.weight, the queue after the step.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))


def distributed_sinkhorn(out, iterations, epsilon):
    Q = torch.exp(out / epsilon).t()
    B = Q.shape[1]
    K = Q.shape[0]
    Q /= torch.sum(Q)
    for _ in range(iterations):
        Q /= torch.sum(Q, dim=1, keepdim=True)
        Q /= K
        Q /= torch.sum(Q, dim=0, keepdim=True)
        Q /= B
    Q *= B
    return Q.t()


def swav_head_forward(x, prototypes, queue, num_crops, crops_for_assign, temperature, epsilon, iterations):
    """MMSelfSup SwAVHead.forward; `queue` is modified in place as MMSelfSup does."""
    with torch.no_grad():
        w = nn.functional.normalize(prototypes.weight.data.clone(), dim=1, p=2)
        prototypes.weight.copy_(w)
    embedding, output = x, prototypes(x)
    embedding = embedding.detach()
    bs = int(embedding.size(0) / sum(num_crops))
    use_queue = False
    loss = 0
    for i, crop_id in enumerate(crops_for_assign):
        with torch.no_grad():
            out = output[bs * crop_id:bs * (crop_id + 1)].detach()
            if queue is not None:
                if use_queue or not torch.all(queue[i, -1, :] == 0):
                    use_queue = True
                    out = torch.cat((torch.mm(queue[i], prototypes.weight.t()), out))
                queue[i, bs:] = queue[i, :-bs].clone()
                queue[i, :bs] = embedding[crop_id * bs:(crop_id + 1) * bs]
            q = distributed_sinkhorn(out, iterations, epsilon)[-bs:]
        subloss = 0
        for v in np.delete(np.arange(np.sum(num_crops)), crop_id):
            z = output[bs * v:bs * (v + 1)] / temperature
            subloss -= torch.mean(torch.sum(q * nn.functional.log_softmax(z, dim=1), dim=1))
        loss += subloss / (np.sum(num_crops) - 1)
    loss /= len(crops_for_assign)
    return loss


def case(seed, bs, feat_dim, num_prototypes, num_crops, crops_for_assign, queue_rows, temperature=0.1, epsilon=0.05, iterations=3):
    g = torch.Generator().manual_seed(seed)
    n = bs * sum(num_crops)
    x = nn.functional.normalize(torch.randn(n, feat_dim, generator=g), dim=1).requires_grad_(True)
    prototypes = nn.Linear(feat_dim, num_prototypes, bias=False)
    with torch.no_grad():
        prototypes.weight.copy_(torch.randn(num_prototypes, feat_dim, generator=g))
    w0 = prototypes.weight.detach().clone()
    queue = None
    if queue_rows:
        queue = nn.functional.normalize(torch.randn(len(crops_for_assign), queue_rows, feat_dim, generator=g), dim=2)
    queue0 = None if queue is None else queue.clone()
    loss = swav_head_forward(x, prototypes, queue, num_crops, crops_for_assign, temperature, epsilon, iterations)
    loss.backward()
    flat = lambda t: [round(float(v), 9) for v in t.detach().reshape(-1)]
    return {
        'head': {'type': 'SwAVHead', 'feat_dim': feat_dim, 'num_prototypes': num_prototypes, 'num_crops': num_crops,
                 'crops_for_assign': crops_for_assign, 'temperature': temperature, 'epsilon': epsilon, 'sinkhorn_iterations': iterations},
        'bs': bs, 'queue_rows': queue_rows,
        'x': flat(x), 'prototypes_weight': flat(w0),
        'queue_before': None if queue0 is None else flat(queue0),
        'loss': float(loss), 'grad_x': flat(x.grad), 'grad_prototypes_weight': flat(prototypes.weight.grad),
        'queue_after': None if queue is None else flat(queue),
    }


def main():
    out = os.path.join(HERE, '..', 'test', 'fixtures', 'torch', 'swav-head.json')
    if '--out' in sys.argv:
        out = sys.argv[sys.argv.index('--out') + 1]
    cases = {
        'two-plus-two-crops': case(0, 4, 8, 10, [2, 2], [0, 1], 0),
        'queue-filled': case(1, 3, 8, 12, [2, 3], [0, 1], 6),
        'assign-from-small-crop': case(2, 2, 6, 5, [1, 3], [3], 0, temperature=0.2, epsilon=0.1, iterations=5),
    }
    tmp = out + '.tmp'
    with open(tmp, 'w') as f:
        json.dump({'torch': torch.__version__, 'cases': cases}, f)
    os.replace(tmp, out)
    print(out, {k: c['loss'] for k, c in cases.items()})


if __name__ == '__main__':
    main()
