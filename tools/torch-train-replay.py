#!/usr/bin/python3
"""PyTorch side of benchmarks/train-replay.ts: loads the initial weights and batches ssl wrote to DIR,
trains the same steps (SimCLR: ResNet_CIFAR backbone, MoCoV2Neck, ContrastiveHead, SGD) and prints
the per-step losses as one JSON line. Usage: /usr/bin/python3 tools/torch-train-replay.py DIR"""
import importlib.util
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('torch_reference', os.path.join(HERE, 'torch-reference.py'))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
DTYPES = {'F32': torch.float32, 'I64': torch.int64, 'I32': torch.int32}


def load_safetensors(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        s, e = v['data_offsets']
        out[k] = torch.frombuffer(bytearray(raw[8 + n + s:8 + n + e]), dtype=DTYPES[v['dtype']]).reshape(v['shape']).clone()
    return out


class SimCLR(nn.Module):
    def __init__(self, recipe):
        super().__init__()
        b, n = recipe['backbone'], recipe['neck']
        if b['type'] != 'ResNet_CIFAR' or n['type'] != 'MoCoV2Neck':
            sys.exit('torch-train-replay.py covers ResNet_CIFAR + MoCoV2Neck only')
        self.backbone = ref.ResNet(b['depth'], in_channels=b.get('in_channels', 3), stem_channels=b.get('stem_channels', 64),
                                   base_channels=b.get('base_channels', 64), out_indices=(4,), cifar=True)
        self.neck = nn.Module()
        self.neck.mlp = nn.Sequential(nn.Linear(n['in_channels'], n['hid_channels']), nn.ReLU(inplace=True),
                                      nn.Linear(n['hid_channels'], n['out_channels']))

    def forward(self, x):
        f = F.adaptive_avg_pool2d(self.backbone(x)[-1], 1).flatten(1)
        return self.neck.mlp(f)


def nt_xent(z, temperature):
    """MMSelfSup SimCLR: rows 2i, 2i+1 are the two views; positive = partner, negatives = the other 2N-2."""
    z = z / (torch.norm(z, p=2, dim=1, keepdim=True) + 1e-10)
    m = z.shape[0]
    s = z @ z.t()
    partner = (torch.arange(m), torch.arange(m) ^ 1)
    keep = torch.ones(m, m) - torch.eye(m)
    keep[partner] = 0
    logits = torch.cat([s[partner].unsqueeze(1), torch.masked_select(s, keep == 1).reshape(m, -1)], 1) / temperature
    return F.cross_entropy(logits, torch.zeros(m, dtype=torch.long))


def main():
    d = sys.argv[1]
    torch.set_num_threads(1)
    recipe = json.load(open(os.path.join(d, 'recipe.json')))
    model = SimCLR(recipe)
    model.load_state_dict(load_safetensors(os.path.join(d, 'init.safetensors')), strict=True)
    model.train()
    o = recipe['optimizer']
    opt = torch.optim.SGD(model.parameters(), lr=o['lr'], momentum=o.get('momentum', 0), weight_decay=o.get('weight_decay', 0))
    batches = load_safetensors(os.path.join(d, 'batches.safetensors'))
    losses = []
    for k in range(recipe['steps']):
        v1, v2 = (batches['b%d.v%d' % (k, i)].permute(0, 3, 1, 2) for i in (1, 2))
        x = torch.stack([v1, v2], 1).reshape(-1, *v1.shape[1:])
        loss = nt_xent(model(x), recipe['head'].get('temperature', 0.1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    print(json.dumps(losses))


if __name__ == '__main__':
    main()
