#!/usr/bin/python3
"""PyTorch side of benchmarks/train-replay.ts: loads the initial weights and batches ssl wrote to DIR,
trains the same steps (MMSelfSup 0.x's SimCLR, MoCo v2 or BYOL forward_train over a ResNet_CIFAR
backbone, MoCoV2Neck / NonLinearNeck, SGD) and prints one JSON line: the per-step losses and, per
entry of the state dict, max |ssl - torch| / max |torch| against the final weights ssl wrote.
--autocast-bf16 runs each step's forward under torch.autocast('cpu', dtype=torch.bfloat16) (convolutions
and matmuls in bf16, fp32 master weights and optimizer).
Usage: /usr/bin/python3 tools/torch-train-replay.py DIR [--autocast-bf16]"""
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


def backbone_of(b):
    if b['type'] != 'ResNet_CIFAR':
        sys.exit('torch-train-replay.py covers ResNet_CIFAR backbones only')
    return ref.ResNet(b['depth'], in_channels=b.get('in_channels', 3), stem_channels=b.get('stem_channels', 64),
                      base_channels=b.get('base_channels', 64), out_indices=(4,), cifar=True)


class MoCoV2Neck(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.with_avg_pool = n.get('with_avg_pool', True)
        self.mlp = nn.Sequential(nn.Linear(n['in_channels'], n['hid_channels']), nn.ReLU(inplace=True),
                                 nn.Linear(n['hid_channels'], n['out_channels']))

    def forward(self, x):
        if self.with_avg_pool:
            x = F.adaptive_avg_pool2d(x, 1)
        return self.mlp(x.flatten(1))


class NonLinearNeck(nn.Module):
    """MMSelfSup 0.x: [avgpool] -> fc0 -> bn0 -> (relu -> fc_i -> [bn_i]) for i = 1..num_layers-1."""

    def __init__(self, n):
        super().__init__()
        if n.get('norm_cfg', {'type': 'BN'})['type'] not in ('BN', 'BN1d'):
            sys.exit('torch-train-replay.py covers NonLinearNeck with BN only')
        inc, hid, out, layers = n['in_channels'], n['hid_channels'], n['out_channels'], n.get('num_layers', 2)
        with_bias = n.get('with_bias', False)
        self.with_avg_pool = n.get('with_avg_pool', True)
        self.fc0 = nn.Linear(inc, hid, bias=with_bias)
        self.bn0 = nn.BatchNorm1d(hid)
        self.rest = []
        for i in range(1, layers):
            last = i == layers - 1
            ch = out if last else hid
            setattr(self, 'fc%d' % i, nn.Linear(hid, ch, bias=n.get('with_last_bias', False) if last else with_bias))
            bn = None
            if not last:
                bn = nn.BatchNorm1d(ch)
            elif n.get('with_last_bn', True):
                bn = nn.BatchNorm1d(ch, affine=n.get('with_last_bn_affine', True))
            if bn is not None:
                setattr(self, 'bn%d' % i, bn)
            self.rest.append(('fc%d' % i, 'bn%d' % i if bn is not None else None))

    def forward(self, x):
        if self.with_avg_pool:
            x = F.adaptive_avg_pool2d(x, 1)
        x = self.bn0(self.fc0(x.flatten(1)))
        for fc, bn in self.rest:
            x = getattr(self, fc)(F.relu(x))
            if bn is not None:
                x = getattr(self, bn)(x)
        return x


def neck_of(n):
    if n['type'] == 'MoCoV2Neck':
        return MoCoV2Neck(n)
    if n['type'] == 'NonLinearNeck':
        return NonLinearNeck(n)
    sys.exit('torch-train-replay.py covers MoCoV2Neck and NonLinearNeck only, not %s' % n['type'])


class Encoder(nn.Module):
    """[backbone, neck] as MMSelfSup's nn.Sequential (state-dict names 0.* and 1.*)."""

    def __init__(self, m):
        super().__init__()
        self.add_module('0', backbone_of(m['backbone']))
        self.add_module('1', neck_of(m['neck']))

    def forward(self, x):
        return getattr(self, '1')(getattr(self, '0')(x)[-1])


def ema(online, target, m):
    with torch.no_grad():
        for po, pt in zip(online.parameters(), target.parameters()):
            pt.data = pt.data * m + po.data * (1. - m)


class SimCLR(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.backbone = backbone_of(m['backbone'])
        self.neck = neck_of(m['neck'])
        self.temperature = m['head'].get('temperature', 0.1)

    def loss(self, v1, v2):
        x = torch.stack([v1, v2], 1).reshape(-1, *v1.shape[1:])
        return nt_xent(self.neck(self.backbone(x)[-1]), self.temperature)

    def after_step(self):
        pass


class MoCo(nn.Module):
    """MMSelfSup 0.x MoCo.forward_train on one process (no batch shuffle); ContrastiveHead."""

    def __init__(self, m):
        super().__init__()
        self.encoder_q = Encoder(m)
        self.encoder_k = Encoder(m)
        for p in self.encoder_k.parameters():
            p.requires_grad = False
        self.register_buffer('queue', torch.zeros(m.get('feat_dim', 128), m.get('queue_len', 65536)))
        self.register_buffer('queue_ptr', torch.zeros(1, dtype=torch.long))
        self.momentum = m.get('momentum', 0.999)
        self.temperature = m['head'].get('temperature', 0.1)
        self.keys = None

    def loss(self, v1, v2):
        q = F.normalize(self.encoder_q(v1), dim=1)
        with torch.no_grad():
            ema(self.encoder_q, self.encoder_k, self.momentum)
            k = F.normalize(self.encoder_k(v2), dim=1)
        l_pos = torch.einsum('nc,nc->n', [q, k]).unsqueeze(-1)
        l_neg = torch.einsum('nc,ck->nk', [q, self.queue.clone().detach()])
        logits = torch.cat((l_pos, l_neg), dim=1) / self.temperature
        self.keys = k
        return F.cross_entropy(logits, torch.zeros(logits.shape[0], dtype=torch.long))

    def after_step(self):
        n, ptr = self.keys.shape[0], int(self.queue_ptr)
        self.queue[:, ptr:ptr + n] = self.keys.transpose(0, 1)
        self.queue_ptr[0] = (ptr + n) % self.queue.shape[1]


class BYOL(nn.Module):
    """MMSelfSup 0.x BYOL.forward_train; LatentPredictHead; the target's EMA after each step (BYOLHook)
    at base_momentum, the hook's value at iteration 0."""

    def __init__(self, m):
        super().__init__()
        self.online_net = Encoder(m)
        self.target_net = Encoder(m)
        for p in self.target_net.parameters():
            p.requires_grad = False
        self.head = nn.Module()
        self.head.predictor = neck_of(m['head']['predictor'])
        self.momentum = m.get('base_momentum', 0.996)

    def predict_loss(self, online, target):
        pred = self.head.predictor(online)
        return -(F.normalize(pred, dim=1) * F.normalize(target, dim=1)).sum(dim=1).mean()

    def loss(self, v1, v2):
        p1, p2 = self.online_net(v1), self.online_net(v2)
        with torch.no_grad():
            t1, t2 = self.target_net(v1).detach(), self.target_net(v2).detach()
        return 2. * (self.predict_loss(p1, t2) + self.predict_loss(p2, t1))

    def after_step(self):
        ema(self.online_net, self.target_net, self.momentum)


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


ALGORITHMS = {'SimCLR': SimCLR, 'MoCo': MoCo, 'BYOL': BYOL}


def rel_diff(a, b):
    a, b = a.double(), b.double()
    scale = b.abs().max().item()
    return (a - b).abs().max().item() / (scale if scale > 0 else 1.)


def main():
    d = sys.argv[1]
    autocast = '--autocast-bf16' in sys.argv[2:]
    torch.set_num_threads(1)
    recipe = json.load(open(os.path.join(d, 'recipe.json')))
    m = recipe['model']
    if m['type'] not in ALGORITHMS:
        sys.exit('torch-train-replay.py covers %s, not %s' % (', '.join(ALGORITHMS), m['type']))
    model = ALGORITHMS[m['type']](m)
    model.load_state_dict(load_safetensors(os.path.join(d, 'init.safetensors')), strict=True)
    model.train()
    o = recipe['optimizer']
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=o['lr'], momentum=o.get('momentum', 0),
                          weight_decay=o.get('weight_decay', 0))
    batches = load_safetensors(os.path.join(d, 'batches.safetensors'))
    losses = []
    for k in range(recipe['steps']):
        v1, v2 = (batches['b%d.v%d' % (k, i)].permute(0, 3, 1, 2) for i in (1, 2))
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
            loss = model.loss(v1, v2).float()
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.after_step()
        losses.append(float(loss))
    states = {}
    final = load_safetensors(os.path.join(d, 'final.safetensors'))
    for name, t in model.state_dict().items():
        if name in final:
            states[name] = rel_diff(final[name], t)
    print(json.dumps({'losses': losses, 'states': states}))


if __name__ == '__main__':
    main()
