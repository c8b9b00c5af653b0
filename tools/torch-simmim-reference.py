#!/usr/bin/python3
"""Writes PyTorch reference fixtures for ssl's SimMIM with the Swin Transformer
(test/fixtures/torch/simmim-swin-tiny.safetensors) and the Swin parameter counts
(swin-param-counts.json). Run:  /usr/bin/python3 tools/torch-simmim-reference.py [fixture] [counts]

The Swin Transformer below follows mmcls 0.x (the SwinTransformer with `pad_small_map` that
MMSelfSup 0.x's SimMIMSwinTransformer extends: ShiftWindowMSA/WindowMSA with relative position
bias, mmcv's PatchEmbed and PatchMerging), with the same module names, so state-dict names match.
SimMIM's mask is passed in. The fixture layout is tools/torch-mim-reference.py's (init.*, input,
mask.<k>, loss.<k>, grad.*, final.*; AdamW steps with the config's paramwise_options).
"""
import importlib.util
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, file))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


ref = load('torch_reference', 'torch-reference.py')
mim = load('torch_mim_reference', 'torch-mim-reference.py')


# ---------------------------------------------------------------- mmcls 0.x Swin (models/utils/attention.py, backbones/swin_transformer.py)
class WindowMSA(nn.Module):
    def __init__(self, embed_dims, window_size, num_heads, qkv_bias=True):
        super().__init__()
        self.window_size = (window_size, window_size)
        self.num_heads = num_heads
        self.scale = (embed_dims // num_heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, num_heads))
        Wh, Ww = self.window_size
        coords = self.double_step_seq(2 * Ww - 1, Wh, 1, Ww)
        self.register_buffer('relative_position_index', (coords + coords.T).flip(1).contiguous())
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.proj = nn.Linear(embed_dims, embed_dims)

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        qkv = self.qkv(x).reshape(B_, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(N, N, -1).permute(2, 0, 1).contiguous()
        attn = attn + bias.unsqueeze(0)
        if mask is not None:
            nW = mask.shape[0]
            attn = attn.view(B_ // nW, nW, self.num_heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.num_heads, N, N)
        attn = attn.softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B_, N, C))

    @staticmethod
    def double_step_seq(step1, len1, step2, len2):
        seq1 = torch.arange(0, step1 * len1, step1)
        seq2 = torch.arange(0, step2 * len2, step2)
        return (seq1[:, None] + seq2[None, :]).reshape(1, -1)


class ShiftWindowMSA(nn.Module):
    def __init__(self, embed_dims, num_heads, window_size, shift_size=0, pad_small_map=False):
        super().__init__()
        self.shift_size, self.window_size, self.pad_small_map = shift_size, window_size, pad_small_map
        self.w_msa = WindowMSA(embed_dims, window_size, num_heads)

    def forward(self, query, hw_shape):
        B, L, C = query.shape
        H, W = hw_shape
        query = query.view(B, H, W, C)
        window_size, shift_size = self.window_size, self.shift_size
        if min(H, W) == window_size:
            shift_size = shift_size if self.pad_small_map else 0
        elif min(H, W) < window_size:
            assert self.pad_small_map
        pad_r = (window_size - W % window_size) % window_size
        pad_b = (window_size - H % window_size) % window_size
        query = F.pad(query, (0, 0, 0, pad_r, 0, pad_b))
        H_pad, W_pad = query.shape[1], query.shape[2]
        if shift_size > 0:
            query = torch.roll(query, shifts=(-shift_size, -shift_size), dims=(1, 2))
        attn_mask = self.get_attn_mask((H_pad, W_pad), window_size, shift_size)
        query_windows = self.window_partition(query, window_size).view(-1, window_size ** 2, C)
        attn_windows = self.w_msa(query_windows, mask=attn_mask).view(-1, window_size, window_size, C)
        shifted_x = self.window_reverse(attn_windows, H_pad, W_pad, window_size)
        x = torch.roll(shifted_x, shifts=(shift_size, shift_size), dims=(1, 2)) if self.shift_size > 0 else shifted_x
        if H != H_pad or W != W_pad:
            x = x[:, :H, :W, :].contiguous()
        return x.view(B, H * W, C)

    @staticmethod
    def window_reverse(windows, H, W, window_size):
        B = int(windows.shape[0] / (H * W / window_size / window_size))
        x = windows.view(B, H // window_size, W // window_size, window_size, window_size, -1)
        return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, H, W, -1)

    @staticmethod
    def window_partition(x, window_size):
        B, H, W, C = x.shape
        x = x.view(B, H // window_size, window_size, W // window_size, window_size, C)
        return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window_size, window_size, C)

    @staticmethod
    def get_attn_mask(hw_shape, window_size, shift_size):
        if shift_size <= 0:
            return None
        img_mask = torch.zeros(1, *hw_shape, 1)
        slices = (slice(0, -window_size), slice(-window_size, -shift_size), slice(-shift_size, None))
        cnt = 0
        for h in slices:
            for w in slices:
                img_mask[:, h, w, :] = cnt
                cnt += 1
        mask_windows = ShiftWindowMSA.window_partition(img_mask, window_size).view(-1, window_size * window_size)
        attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
        return attn_mask.masked_fill(attn_mask != 0, -100.0).masked_fill(attn_mask == 0, 0.0)


class SwinBlock(nn.Module):
    def __init__(self, embed_dims, num_heads, window_size, shift, pad_small_map):
        super().__init__()
        self.norm1 = nn.LayerNorm(embed_dims)
        self.attn = ShiftWindowMSA(embed_dims, num_heads, window_size, window_size // 2 if shift else 0, pad_small_map)
        self.norm2 = nn.LayerNorm(embed_dims)
        self.ffn = ref.FFN(embed_dims, 4 * embed_dims)

    def forward(self, x, hw_shape):
        x = x + self.attn(self.norm1(x), hw_shape)
        return x + self.ffn(self.norm2(x))


class PatchMerging(nn.Module):
    """mmcv PatchMerging: corner padding, nn.Unfold(2, stride 2), LN, Linear without bias."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.sampler = nn.Unfold(kernel_size=2, stride=2)
        self.norm = nn.LayerNorm(4 * in_channels)
        self.reduction = nn.Linear(4 * in_channels, out_channels, bias=False)

    def forward(self, x, input_size):
        B, L, C = x.shape
        H, W = input_size
        x = x.view(B, H, W, C).permute([0, 3, 1, 2])
        x = F.pad(x, (0, W % 2, 0, H % 2))
        out_size = (x.shape[2] // 2, x.shape[3] // 2)
        x = self.sampler(x).transpose(1, 2)
        return self.reduction(self.norm(x)), out_size


class SwinBlockSequence(nn.Module):
    def __init__(self, embed_dims, depth, num_heads, window_size, downsample, pad_small_map):
        super().__init__()
        self.embed_dims = embed_dims
        self.blocks = nn.ModuleList([SwinBlock(embed_dims, num_heads, window_size, i % 2 == 1, pad_small_map) for i in range(depth)])
        self.downsample = PatchMerging(embed_dims, 2 * embed_dims) if downsample else None

    def forward(self, x, in_shape):
        for block in self.blocks:
            x = block(x, in_shape)
        if self.downsample is not None:
            return self.downsample(x, in_shape)
        return x, in_shape

    @property
    def out_channels(self):
        return 2 * self.embed_dims if self.downsample else self.embed_dims


class PatchEmbed(nn.Module):
    def __init__(self, in_channels, embed_dims, patch_size):
        super().__init__()
        self.projection = nn.Conv2d(in_channels, embed_dims, patch_size, patch_size)
        self.norm = nn.LayerNorm(embed_dims)

    def forward(self, x):
        x = self.projection(x)
        out_size = (x.shape[2], x.shape[3])
        return self.norm(x.flatten(2).transpose(1, 2)), out_size


class SimMIMSwinTransformer(nn.Module):
    """MMSelfSup 0.x SimMIMSwinTransformer.forward(x, mask) on mmcls's SwinTransformer."""

    def __init__(self, b):
        super().__init__()
        a = b['arch']
        window = b['stage_cfgs']['block_cfgs']['window_size']
        pad_small_map = b.get('pad_small_map', False)
        self.embed_dims = a['embed_dims']
        self.patch_embed = PatchEmbed(3, a['embed_dims'], 4)
        res = b['img_size'] // 4
        self.use_abs_pos_embed = b.get('use_abs_pos_embed', False)
        if self.use_abs_pos_embed:
            self.absolute_pos_embed = nn.Parameter(torch.zeros(1, res * res, a['embed_dims']))
        self.stages = nn.ModuleList()
        dims = [a['embed_dims']]
        n = len(a['depths'])
        for i, (depth, heads) in enumerate(zip(a['depths'], a['num_heads'])):
            self.stages.append(SwinBlockSequence(dims[-1], depth, heads, window, i < n - 1, pad_small_map))
            dims.append(self.stages[-1].out_channels)
        self.out_indices = b['out_indices']
        for i in self.out_indices:
            self.add_module(f'norm{i}', nn.LayerNorm(dims[i]))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, a['embed_dims']))

    def forward(self, x, mask):
        x, hw_shape = self.patch_embed(x)
        B, L, _ = x.shape
        mask_token = self.mask_token.expand(B, L, -1)
        w = mask.flatten(1).unsqueeze(-1).type_as(mask_token)
        x = x * (1. - w) + mask_token * w
        if self.use_abs_pos_embed:
            x = x + self.absolute_pos_embed
        outs = []
        for i, stage in enumerate(self.stages):
            x, hw_shape = stage(x, hw_shape)
            if i in self.out_indices:
                out = getattr(self, f'norm{i}')(x)
                outs.append(out.view(-1, *hw_shape, stage.out_channels).permute(0, 3, 1, 2).contiguous())
        return tuple(outs)


# ---------------------------------------------------------------- MMSelfSup 0.x SimMIM (algorithms/simmim.py, necks/simmim_neck.py, heads/simmim_head.py)
class SimMIMNeck(nn.Module):
    def __init__(self, in_channels, encoder_stride):
        super().__init__()
        self.decoder = nn.Sequential(nn.Conv2d(in_channels, encoder_stride ** 2 * 3, kernel_size=1), nn.PixelShuffle(encoder_stride))

    def forward(self, x):
        return self.decoder(x)


def simmim_head(x, x_rec, mask, patch_size, encoder_in_channels):
    mask = mask.repeat_interleave(patch_size, 1).repeat_interleave(patch_size, 2).unsqueeze(1).contiguous()
    loss_rec = F.l1_loss(x, x_rec, reduction='none')
    return (loss_rec * mask).sum() / (mask.sum() + 1e-5) / encoder_in_channels


class SimMIM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.backbone = SimMIMSwinTransformer(cfg['backbone'])
        self.neck = SimMIMNeck(cfg['neck']['in_channels'], cfg['neck']['encoder_stride'])
        self.head_cfg = cfg['head']
        # MMSelfSup's init shapes, but biases, norms and tables off their constants so their gradients are checked
        for name, p in self.named_parameters():
            if 'relative_position_bias_table' in name:
                nn.init.trunc_normal_(p, std=0.5)
            elif 'token' in name or 'pos_embed' in name:
                nn.init.trunc_normal_(p, std=0.2)
            elif p.dim() > 1:
                nn.init.trunc_normal_(p, std=0.1)
            else:
                nn.init.normal_(p, mean=1.0 if name.endswith('weight') else 0.0, std=0.1)

    def forward_train(self, img, mask):
        latent = self.backbone(img, mask)
        rec = self.neck(latent[0])
        return simmim_head(img, rec, mask, self.head_cfg['patch_size'], self.head_cfg['encoder_in_channels'])


def simmim_masks(n, input_size, mask_patch_size, model_patch_size, mask_ratio, steps):
    """SimMIMMaskGenerator's masks (torch.randperm in place of np.random.permutation)."""
    rand = input_size // mask_patch_size
    scale = mask_patch_size // model_patch_size
    count = int(-(-rand * rand * mask_ratio // 1))
    out = []
    for _ in range(steps):
        m = torch.zeros(n, rand * rand)
        for i in range(n):
            m[i, torch.randperm(rand * rand)[:count]] = 1
        out.append(m.view(n, rand, rand).repeat_interleave(scale, 1).repeat_interleave(scale, 2).contiguous())
    return out


NO_DECAY = {k: {'weight_decay': 0.} for k in ('norm', 'bias', 'absolute_pos_embed', 'relative_position_bias_table')}

def write_fixture():
    """One tiny case that takes every path: 6×6 then 3×3 maps with window 4, so stage 0 pads to 8×8
    (4 windows) and shifts with the region mask, stage 1 pads its map (smaller than a window) with
    pad_small_map and shifts too; absolute position embedding on."""
    torch.manual_seed(0)
    size = 24
    cfg = {
        'type': 'SimMIM',
        'backbone': {'type': 'SimMIMSwinTransformer', 'arch': {'embed_dims': 8, 'depths': [2, 2], 'num_heads': [2, 4]}, 'img_size': size,
                     'drop_path_rate': 0., 'out_indices': [1], 'pad_small_map': True, 'use_abs_pos_embed': True,
                     'stage_cfgs': {'block_cfgs': {'window_size': 4}}},
        'neck': {'type': 'SimMIMNeck', 'in_channels': 16, 'encoder_stride': 8},
        'head': {'type': 'SimMIMHead', 'patch_size': 4, 'encoder_in_channels': 3},
    }
    opt = {'type': 'AdamW', 'lr': 1e-3, 'betas': [0.9, 0.999], 'eps': 1e-8, 'weight_decay': 0.05, 'paramwise_options': NO_DECAY}
    model = SimMIM(cfg)
    img = torch.randn(2, 3, size, size)
    masks = simmim_masks(2, size, 8, 4, 0.6, 5)
    mim.replay('simmim-swin-tiny', model, cfg, opt, img, masks)


def write_counts():
    """Parameter counts of mmcls's Swin-T/S/B/L backbones and of the seed's SimMIM Swin-B (test/fixtures/torch/swin-param-counts.json)."""
    archs = {'tiny': (96, [2, 2, 6, 2], [3, 6, 12, 24]), 'small': (96, [2, 2, 18, 2], [3, 6, 12, 24]),
             'base': (128, [2, 2, 18, 2], [4, 8, 16, 32]), 'large': (192, [2, 2, 18, 2], [6, 12, 24, 48])}
    counts = {}
    for name, (d, depths, heads) in archs.items():
        b = SimMIMSwinTransformer({'arch': {'embed_dims': d, 'depths': depths, 'num_heads': heads}, 'img_size': 224, 'out_indices': [3],
                                   'stage_cfgs': {'block_cfgs': {'window_size': 7}}})
        counts[f'SwinTransformer {name} (224, window 7)'] = sum(p.numel() for n, p in b.named_parameters() if n != 'mask_token')
    simmim_b = {'backbone': {'arch': {'embed_dims': 128, 'depths': [2, 2, 18, 2], 'num_heads': [4, 8, 16, 32]}, 'img_size': 192, 'out_indices': [3],
                             'stage_cfgs': {'block_cfgs': {'window_size': 6}}},
                'neck': {'in_channels': 1024, 'encoder_stride': 32}, 'head': {'patch_size': 4, 'encoder_in_channels': 3}}
    counts['selfsup/simmim/simmim_swin-base_16xb128-coslr-100e_in1k-192.py'] = mim.part_counts(SimMIM(simmim_b))
    path = os.path.join(ref.OUT, 'swin-param-counts.json')
    with open(path, 'w') as f:
        json.dump(counts, f, indent=1, sort_keys=True)
        f.write('\n')
    print(f'wrote {path}')


def main():
    os.makedirs(ref.OUT, exist_ok=True)
    torch.set_num_threads(1)
    which = sys.argv[1:] or ['fixture', 'counts']
    for w in which:
        {'fixture': write_fixture, 'counts': write_counts}[w]()


if __name__ == '__main__':
    sys.exit(main())
