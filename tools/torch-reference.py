#!/usr/bin/python3
"""Writes PyTorch reference fixtures for ssl's backbones (test/fixtures/torch/*.safetensors).

Run where Debian's python3-torch is installed:  /usr/bin/python3 tools/torch-reference.py

The PyTorch models below re-implement MMSelfSup 0.x / mmcls 0.x ResNet and VisionTransformer
(same module names, so state-dict names match). Weights come from a formula of (name, index)
that test/models/backbones/torch-weights.ts reproduces, so large models need no stored
weights; one small model's weights are also stored as a safetensors file written here, to
check file interop and the OIHW / out x in layout conversion.

Each fixture holds `input` (NHWC), `output.<i>` (NHWC maps; `output.<i>.cls` for ViT class
tokens) and metadata `config` (the backbone config JSON) and `mode` (eval | train).
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'torch')


# ---------------------------------------------------------------- weights from a formula
def name_hash(name):
    return sum((i + 1) * ord(c) for i, c in enumerate(name)) % 997


def formula_tensor(name, shape):
    """Same values as torch-weights.ts: v_j = sin(0.618 j + 0.1 h(name)), scaled by kind."""
    n = 1
    for d in shape:
        n *= d
    j = torch.arange(n, dtype=torch.float64)
    v = torch.sin(0.618 * j + 0.1 * name_hash(name))
    leaf = name.split('.')[-1]
    if leaf == 'num_batches_tracked':
        return torch.zeros(shape, dtype=torch.int64)
    if leaf == 'running_var':
        out = 1 + 0.25 * (v + 1)
    elif leaf == 'running_mean':
        out = 0.1 * v
    elif leaf in ('cls_token', 'pos_embed', 'mask_token'):
        out = 0.02 * v
    elif len(shape) == 1 and leaf == 'weight':
        out = 1 + 0.1 * v
    elif len(shape) == 1:
        out = 0.05 * v
    else:
        fan_in = n // shape[0]
        out = v * math.sqrt(3.0 / fan_in)
    return out.reshape(shape).to(torch.float32)


def fill_formula(model):
    sd = model.state_dict()
    model.load_state_dict({k: formula_tensor(k, list(t.shape)) for k, t in sd.items()})


def formula_input(shape):
    n = 1
    for d in shape:
        n *= d
    return torch.sin(0.3 * torch.arange(n, dtype=torch.float64) + 0.5).reshape(shape).to(torch.float32)


# ---------------------------------------------------------------- mmcls ResNet
class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inc, outc, stride=1, dilation=1, downsample=None, **_):
        super().__init__()
        mid = outc // self.expansion
        self.conv1 = nn.Conv2d(inc, mid, 3, stride, dilation, dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, outc, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(outc)
        self.relu = nn.ReLU()
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inc, outc, stride=1, dilation=1, downsample=None, groups=1, width_per_group=4, base_channels=64):
        super().__init__()
        mid = outc // self.expansion
        if groups != 1:
            mid = groups * width_per_group * mid // base_channels
        self.conv1 = nn.Conv2d(inc, mid, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, dilation, dilation, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, outc, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(outc)
        self.relu = nn.ReLU()
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


ARCH = {18: (BasicBlock, (2, 2, 2, 2)), 34: (BasicBlock, (3, 4, 6, 3)), 50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)), 152: (Bottleneck, (3, 8, 36, 3))}


class ResNet(nn.Module):
    def __init__(self, depth, in_channels=3, stem_channels=64, base_channels=64, out_indices=(4,), cifar=False, groups=1, width_per_group=4):
        super().__init__()
        block, blocks = ARCH[depth]
        self.out_indices = out_indices
        self.cifar = cifar
        if cifar:
            self.conv1 = nn.Conv2d(in_channels, stem_channels, 3, 1, 1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, stem_channels, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inc, outc = stem_channels, base_channels * block.expansion
        self.res_layers = []
        for i, n in enumerate(blocks):
            stride = 1 if i == 0 else 2
            downsample = None
            if stride != 1 or inc != outc:
                downsample = nn.Sequential(nn.Conv2d(inc, outc, 1, stride, bias=False), nn.BatchNorm2d(outc))
            kw = dict(groups=groups, width_per_group=width_per_group, base_channels=base_channels) if block is Bottleneck else {}
            layers = [block(inc, outc, stride, 1, downsample, **kw)]
            for _ in range(1, n):
                layers.append(block(outc, outc, 1, 1, None, **kw))
            self.add_module(f'layer{i + 1}', nn.Sequential(*layers))
            self.res_layers.append(f'layer{i + 1}')
            inc, outc = outc, outc * 2

    def forward(self, x):
        outs = []
        x = self.relu(self.bn1(self.conv1(x)))
        if 0 in self.out_indices:
            outs.append(x)
        if not self.cifar:
            x = self.maxpool(x)
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i + 1 in self.out_indices:
                outs.append(x)
        return outs


# ---------------------------------------------------------------- mmcls VisionTransformer
class MultiheadAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q @ k.transpose(-2, -1)) * (C // self.heads) ** -0.5).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))


class FFN(nn.Module):
    def __init__(self, d, ff):
        super().__init__()
        self.layers = nn.Sequential(nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Dropout(0.0)), nn.Linear(ff, d), nn.Dropout(0.0))

    def forward(self, x):
        return self.layers(x)


class EncoderLayer(nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.ln1 = nn.LayerNorm(d, eps=1e-6)
        self.attn = MultiheadAttention(d, heads)
        self.ln2 = nn.LayerNorm(d, eps=1e-6)
        self.ffn = FFN(d, ff)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.ffn(self.ln2(x))


class PatchEmbed(nn.Module):
    def __init__(self, inc, d, p):
        super().__init__()
        self.projection = nn.Conv2d(inc, d, p, p)


class VisionTransformer(nn.Module):
    def __init__(self, d, layers, heads, ff, img_size, patch_size):
        super().__init__()
        self.res = img_size // patch_size
        self.patch_embed = PatchEmbed(3, d, patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.res * self.res + 1, d))
        self.layers = nn.ModuleList([EncoderLayer(d, heads, ff) for _ in range(layers)])
        self.ln1 = nn.LayerNorm(d, eps=1e-6)

    def forward(self, x):
        B = x.shape[0]
        x = self.patch_embed.projection(x).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token.expand(B, -1, -1), x), dim=1) + self.pos_embed
        for layer in self.layers:
            x = layer(x)
        x = self.ln1(x)
        patch = x[:, 1:].reshape(B, self.res, self.res, -1)  # NHWC
        return [(patch, x[:, 0])]


# ---------------------------------------------------------------- safetensors writer (no extra package)
def save_safetensors(path, tensors, metadata):
    header, blobs, offset = {'__metadata__': metadata}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        dtype = {torch.float32: 'F32', torch.int64: 'I64'}[t.dtype]
        data = t.numpy().tobytes()
        header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    print(f'wrote {path} ({os.path.getsize(path)} bytes)')


def nhwc(t):
    return t.permute(0, 2, 3, 1) if t.dim() == 4 else t


def write_fixture(name, model, config, input_shape, mode='eval', store_weights=False):
    torch.manual_seed(0)
    fill_formula(model)
    if store_weights:
        save_safetensors(os.path.join(OUT, f'{name}.weights.safetensors'), dict(fill_weights_sd(model)), {'format': 'pt'})
    model.train(mode == 'train')
    x = formula_input(input_shape)
    with torch.no_grad():
        outs = model(x)
    tensors = {'input': nhwc(x)}
    for i, o in enumerate(outs):
        if isinstance(o, tuple):
            tensors[f'output.{i}'] = o[0]
            tensors[f'output.{i}.cls'] = o[1]
        else:
            tensors[f'output.{i}'] = nhwc(o)
    meta = {'config': json.dumps(config), 'mode': mode, 'torch': torch.__version__, 'weights': 'file' if store_weights else 'formula'}
    save_safetensors(os.path.join(OUT, f'{name}.safetensors'), tensors, meta)


def fill_weights_sd(model):
    # Weights stored in the file are the formula ones plus 0.01 * cos(j), so a loader that
    # ignored the file and used the formula would fail the test.
    sd = {}
    for k, t in model.state_dict().items():
        if t.dtype == torch.float32:
            j = torch.arange(t.numel(), dtype=torch.float64)
            t = (t.double() + 0.01 * torch.cos(j).reshape(t.shape)).float()
        sd[k] = t
    model.load_state_dict(sd)
    return sd.items()


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    r18 = dict(type='ResNet', depth=18, out_indices=[0, 1, 2, 3, 4])
    write_fixture('resnet18', ResNet(18, out_indices=(0, 1, 2, 3, 4)), r18, [2, 3, 32, 32])
    # Train-mode BN over few values (layer4: 8 per channel here) amplifies float32 rounding, so stop at layer3.
    write_fixture('resnet18-train', ResNet(18, out_indices=(1, 2, 3)), dict(type='ResNet', depth=18, out_indices=[1, 2, 3]), [2, 3, 64, 64], mode='train')
    write_fixture('resnet50', ResNet(50), dict(type='ResNet', depth=50), [1, 3, 32, 32])
    write_fixture('resnext50', ResNet(50, groups=32, width_per_group=4), dict(type='ResNeXt', depth=50, groups=32, width_per_group=4), [1, 3, 32, 32])
    vit_s = dict(type='VisionTransformer', arch='mocov3-small', img_size=32, patch_size=16)
    write_fixture('vit-small', VisionTransformer(384, 12, 12, 1536, 32, 16), vit_s, [1, 3, 32, 32])
    tiny_cifar = dict(type='ResNet_CIFAR', depth=18, base_channels=8, stem_channels=8, out_indices=[4])
    write_fixture('resnet18-cifar-tiny', ResNet(18, stem_channels=8, base_channels=8, cifar=True), tiny_cifar, [2, 3, 16, 16], store_weights=True)
    vit_tiny = dict(type='VisionTransformer', arch=dict(embed_dims=32, num_layers=2, num_heads=4, feedforward_channels=64), img_size=16, patch_size=8)
    write_fixture('vit-tiny', VisionTransformer(32, 2, 4, 64, 16, 8), vit_tiny, [2, 3, 16, 16], store_weights=True)


if __name__ == '__main__':
    sys.exit(main())
