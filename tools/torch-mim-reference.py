#!/usr/bin/python3
"""Writes PyTorch reference fixtures for ssl's masked-image-modeling algorithms
(test/fixtures/torch/<name>.safetensors). Run:  /usr/bin/python3 tools/torch-mim-reference.py

Each model below re-implements MMSelfSup 0.x's forward_train (same module names, so state-dict
names match) with the random masking passed in, so ssl can replay it exactly. A fixture holds
  init.<param>            the initial weights (PyTorch layout; random init with a fixed seed)
  input                   the images (NHWC)
  noise.<k> / mask.<k>    what decides the masking at step k
  loss.<k>                the loss at step k (AdamW steps with the config's paramwise_options)
  grad.<param>            the gradients at step 0
  final.<param>           the weights after all steps
and metadata `model` / `optimizer` (the configs as JSON) and `steps`.
"""
import importlib.util
import json
import math
import os
import re
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('torch_reference', os.path.join(HERE, 'torch-reference.py'))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
OUT = ref.OUT


# ---------------------------------------------------------------- MAE (mmselfsup/models/{algorithms/mae,backbones/mae_vit,necks/mae_neck,heads/mae_head}.py)
class MAEViT(ref.VisionTransformer):
    def __init__(self, d, layers, heads, ff, img_size, patch_size, mask_ratio):
        super().__init__(d, layers, heads, ff, img_size, patch_size)
        self.mask_ratio = mask_ratio
        self.pos_embed.requires_grad = False
        self.num_patches = self.res * self.res

    def forward(self, x, noise):
        B = x.shape[0]
        x = self.patch_embed.projection(x).flatten(2).transpose(1, 2)
        x = x + self.pos_embed[:, 1:, :]
        N, L, D = x.shape
        len_keep = int(L * (1 - self.mask_ratio))
        ids_shuffle = torch.argsort(noise, dim=1)
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        x = torch.gather(x, dim=1, index=ids_shuffle[:, :len_keep].unsqueeze(-1).repeat(1, 1, D))
        mask = torch.ones([N, L])
        mask[:, :len_keep] = 0
        mask = torch.gather(mask, dim=1, index=ids_restore)
        cls = (self.cls_token + self.pos_embed[:, :1, :]).expand(B, -1, -1)
        x = torch.cat((cls, x), dim=1)
        for layer in self.layers:
            x = layer(x)
        return self.ln1(x), mask, ids_restore


class MAEPretrainDecoder(nn.Module):
    def __init__(self, num_patches, patch_size, in_chans, embed_dim, decoder_embed_dim, decoder_depth, decoder_num_heads, mlp_ratio):
        super().__init__()
        self.decoder_embed = nn.Linear(embed_dim, decoder_embed_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_embed_dim))
        self.decoder_pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, decoder_embed_dim), requires_grad=False)
        self.decoder_blocks = nn.ModuleList([ref.EncoderLayer(decoder_embed_dim, decoder_num_heads, int(mlp_ratio * decoder_embed_dim)) for _ in range(decoder_depth)])
        self.ln1 = nn.LayerNorm(decoder_embed_dim, eps=1e-6)
        self.decoder_pred = nn.Linear(decoder_embed_dim, patch_size ** 2 * in_chans)

    def forward(self, x, ids_restore):
        x = self.decoder_embed(x)
        mask_tokens = self.mask_token.repeat(x.shape[0], ids_restore.shape[1] + 1 - x.shape[1], 1)
        x_ = torch.cat([x[:, 1:, :], mask_tokens], dim=1)
        x_ = torch.gather(x_, dim=1, index=ids_restore.unsqueeze(-1).repeat(1, 1, x.shape[2]))
        x = torch.cat([x[:, :1, :], x_], dim=1) + self.decoder_pos_embed
        for blk in self.decoder_blocks:
            x = blk(x)
        return self.decoder_pred(self.ln1(x))[:, 1:, :]


def mae_head(imgs, pred, mask, patch_size, norm_pix):
    p = patch_size
    h = w = imgs.shape[2] // p
    target = torch.einsum('nchpwq->nhwpqc', imgs.reshape(imgs.shape[0], 3, h, p, w, p)).reshape(imgs.shape[0], h * w, p * p * 3)
    if norm_pix:
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True)
        target = (target - mean) / (var + 1.e-6) ** .5
    loss = ((pred - target) ** 2).mean(dim=-1)
    return (loss * mask).sum() / mask.sum()


class MAE(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        b, n, h = cfg['backbone'], cfg['neck'], cfg['head']
        a = b['arch']
        self.backbone = MAEViT(a['embed_dims'], a['num_layers'], a['num_heads'], a['feedforward_channels'], b['img_size'], b['patch_size'], b['mask_ratio'])
        self.neck = MAEPretrainDecoder(self.backbone.num_patches, n['patch_size'], n['in_chans'], n['embed_dim'], n['decoder_embed_dim'],
                                       n['decoder_depth'], n['decoder_num_heads'], n['mlp_ratio'])
        self.head_cfg = h
        # MMSelfSup's init: sin-cos position embeddings, xavier linears, N(0, 0.02) tokens
        self.backbone.pos_embed.data.copy_(sincos(self.backbone.res, a['embed_dims']))
        self.neck.decoder_pos_embed.data.copy_(sincos(self.backbone.res, n['decoder_embed_dim']))
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.normal_(m.bias, std=0.02)  # nonzero, so bias gradients are checked too
        nn.init.normal_(self.backbone.cls_token, std=.02)
        nn.init.normal_(self.neck.mask_token, std=.02)

    def forward_train(self, img, noise):
        latent, mask, ids_restore = self.backbone(img, noise)
        pred = self.neck(latent, ids_restore)
        return mae_head(img, pred, mask, self.head_cfg['patch_size'], self.head_cfg['norm_pix'])


def sincos(res, d, temperature=10000.):
    """MMSelfSup build_2d_sincos_position_embedding (cls token row of zeros first)."""
    grid_w = torch.arange(res, dtype=torch.float32)
    grid_h = torch.arange(res, dtype=torch.float32)
    grid_w, grid_h = torch.meshgrid(grid_w, grid_h, indexing='ij')
    pos_dim = d // 4
    omega = 1. / (temperature ** (torch.arange(pos_dim, dtype=torch.float32) / pos_dim))
    out_w = torch.einsum('m,d->md', [grid_w.flatten(), omega])
    out_h = torch.einsum('m,d->md', [grid_h.flatten(), omega])
    pe = torch.cat([torch.sin(out_w), torch.cos(out_w), torch.sin(out_h), torch.cos(out_h)], dim=1)[None]
    return torch.cat([torch.zeros([1, 1, d]), pe], dim=1)


# ---------------------------------------------------------------- training replay
def adamw_groups(model, opt_cfg):
    """mmcv DefaultOptimizerConstructor with MMSelfSup's paramwise_options (regex search)."""
    groups = []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        g = {'params': [p]}
        for pattern, opts in opt_cfg.get('paramwise_options', {}).items():
            if re.search(pattern, name):
                g.update(opts)
        groups.append(g)
    return groups


def replay(name, model, model_cfg, opt_cfg, img, masks, extra_meta=None, extra_tensors=None):
    """Runs len(masks) AdamW steps of model.forward_train(img, masks[k]); writes the fixture."""
    tensors = {f'init.{k}': v.clone() for k, v in model.state_dict().items()}
    tensors['input'] = ref.nhwc(img)
    o = opt_cfg
    opt = torch.optim.AdamW(adamw_groups(model, o), lr=o['lr'], betas=tuple(o['betas']), weight_decay=o['weight_decay'])
    for k, m in enumerate(masks):
        loss = model.forward_train(img, m)
        opt.zero_grad()
        loss.backward()
        if k == 0:
            for pname, p in model.named_parameters():
                if p.grad is not None:
                    tensors[f'grad.{pname}'] = p.grad.clone()
        opt.step()
        tensors[f'loss.{k}'] = loss.detach().reshape(1)
        tensors[f'mask.{k}'] = m
    for k, v in model.state_dict().items():
        tensors[f'final.{k}'] = v.clone()
    tensors.update(extra_tensors or {})  # read after the steps: they may add to it
    meta = {'model': json.dumps(model_cfg), 'optimizer': json.dumps(opt_cfg), 'steps': str(len(masks)), 'torch': torch.__version__, **(extra_meta or {})}
    ref.save_safetensors(os.path.join(OUT, f'{name}.safetensors'), tensors, meta)


NO_DECAY = {k: {'weight_decay': 0.} for k in ('ln', 'bias', 'pos_embed', 'mask_token', 'cls_token')}


def write_mae():
    torch.manual_seed(0)
    cfg = {
        'type': 'MAE',
        'backbone': {'type': 'MAEViT', 'arch': {'embed_dims': 32, 'num_layers': 2, 'num_heads': 4, 'feedforward_channels': 64}, 'img_size': 16, 'patch_size': 4, 'mask_ratio': 0.75},
        'neck': {'type': 'MAEPretrainDecoder', 'patch_size': 4, 'in_chans': 3, 'embed_dim': 32, 'decoder_embed_dim': 16, 'decoder_depth': 1, 'decoder_num_heads': 2, 'mlp_ratio': 4},
        'head': {'type': 'MAEPretrainHead', 'norm_pix': True, 'patch_size': 4},
    }
    opt = {'type': 'AdamW', 'lr': 1e-3, 'betas': [0.9, 0.95], 'weight_decay': 0.05, 'paramwise_options': NO_DECAY}
    model = MAE(cfg)
    img = torch.randn(2, 3, 16, 16)
    noises = [torch.rand(2, 16) for _ in range(5)]
    replay('mae-tiny', model, cfg, opt, img, noises)


class HOGGenerator(nn.Module):
    """MMSelfSup's HOGGenerator.forward (the 14 patches per side made a parameter)."""

    def __init__(self, nbins=9, pool=8, gaussian_window=16, patches_per_side=14):
        super().__init__()
        self.nbins, self.pool, self.gaussian_window, self.patches_per_side = nbins, pool, gaussian_window, patches_per_side
        weight_x = torch.FloatTensor([[1, 0, -1], [2, 0, -2], [1, 0, -1]]).view(1, 1, 3, 3).repeat(3, 1, 1, 1).contiguous()
        self.weight_x, self.weight_y = weight_x, weight_x.transpose(2, 3).contiguous()
        n = torch.arange(0, gaussian_window).float()
        n -= n.mean()
        n /= gaussian_window // 2
        k1 = torch.exp(-0.5 * n ** 2)
        k2 = k1[:, None] * k1[None, :]
        self.gaussian_kernel = k2 / k2.sum()

    def forward(self, x):
        x = F.pad(x, pad=(1, 1, 1, 1), mode='reflect')
        gx = F.conv2d(x, self.weight_x, groups=3)
        gy = F.conv2d(x, self.weight_y, groups=3)
        norm_rgb = torch.stack([gx, gy], dim=-1).norm(dim=-1)
        phase = torch.atan2(gx, gy) / math.pi * self.nbins
        b, c, h, w = norm_rgb.shape
        out = torch.zeros((b, c, self.nbins, h, w))
        phase = phase.view(b, c, 1, h, w)
        norm_rgb = norm_rgb.view(b, c, 1, h, w)
        norm_rgb = norm_rgb * self.gaussian_kernel.repeat([h // self.gaussian_window, h // self.gaussian_window])
        out.scatter_add_(2, phase.floor().long() % self.nbins, norm_rgb)
        out = out.unfold(3, self.pool, self.pool).unfold(4, self.pool, self.pool).sum(dim=[-1, -2])
        out = F.normalize(out, p=2, dim=2)
        hog = out.flatten(1, 2)
        u = hog.shape[-1] // self.patches_per_side
        hog = hog.permute(0, 2, 3, 1).unfold(1, u, u).unfold(2, u, u)
        return hog.flatten(1, 2).flatten(2)


def write_hog():
    """HOG features of formula images (tests rebuild the images): two settings."""
    tensors = {}
    settings = {'a': dict(nbins=9, pool=4, gaussian_window=8, patches_per_side=4), 'b': dict(nbins=9, pool=2, gaussian_window=16, patches_per_side=8)}
    # nbins stays 9 (MMSelfSup's): with an even nbins ±90° is a bin edge, and a border pixel's gy (0 across the
    # reflection) is float noise of F.conv2d's summation order, so its bin is not reproducible even in PyTorch
    x = ref.formula_input([2, 3, 32, 32]) * 2
    for key, st in settings.items():
        tensors[f'hog.{key}'] = HOGGenerator(**st)(x)
    ref.save_safetensors(os.path.join(OUT, 'hog.safetensors'), tensors, {'settings': json.dumps(settings), 'input': 'formula_input([2, 3, 32, 32]) * 2 (NCHW)'})


# ---------------------------------------------------------------- MaskFeat (mmselfsup/models/{algorithms/maskfeat,backbones/maskfeat_vit,heads/maskfeat_head}.py)
class MaskFeatViT(ref.VisionTransformer):
    def __init__(self, d, layers, heads, ff, img_size, patch_size):
        super().__init__(d, layers, heads, ff, img_size, patch_size)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, d))

    def forward(self, x, mask):
        B = x.shape[0]
        x = self.patch_embed.projection(x).flatten(2).transpose(1, 2)
        B, L, _ = x.shape
        mask_tokens = self.mask_token.expand(B, L, -1)
        mask = mask.flatten(1).unsqueeze(-1)
        x = x * (1 - mask.int()) + mask_tokens * mask
        x = torch.cat((self.cls_token.expand(B, -1, -1), x), dim=1) + self.pos_embed
        for layer in self.layers:
            x = layer(x)
        return self.ln1(x)


class MaskFeatPretrainHead(nn.Module):
    def __init__(self, embed_dim, hog_dim):
        super().__init__()
        self.head = nn.Linear(embed_dim, hog_dim)

    def forward(self, latent, hog, mask):
        latent = self.head(latent)
        mask = mask.flatten(1).bool()
        pred, target = latent[:, 1:][mask], hog[mask]
        return ((pred - target) ** 2).mean(-1).mean()


class MaskFeat(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        b, h = cfg['backbone'], cfg['head']
        a = b['arch']
        self.backbone = MaskFeatViT(a['embed_dims'], a['num_layers'], a['num_heads'], a['feedforward_channels'], b['img_size'], b['patch_size'])
        self.head = MaskFeatPretrainHead(h['embed_dim'], h['hog_dim'])
        self.hog_layer = HOGGenerator(**cfg['hog_para'], patches_per_side=self.backbone.res)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.normal_(m.bias, std=0.02)  # nonzero, so bias gradients are checked too
        for t in (self.backbone.cls_token, self.backbone.mask_token, self.backbone.pos_embed):
            nn.init.trunc_normal_(t, std=.02)

    def forward_train(self, img, mask):
        with torch.no_grad():
            hog = self.hog_layer(img)
        return self.head(self.backbone(img, mask), hog, mask)


def write_maskfeat():
    torch.manual_seed(0)
    cfg = {
        'type': 'MaskFeat',
        'backbone': {'type': 'MaskFeatViT', 'arch': {'embed_dims': 16, 'num_layers': 2, 'num_heads': 2, 'feedforward_channels': 32}, 'img_size': 32, 'patch_size': 8},
        'head': {'type': 'MaskFeatPretrainHead', 'embed_dim': 16, 'hog_dim': 108},
        'hog_para': {'nbins': 9, 'pool': 4, 'gaussian_window': 16},
    }
    opt = {'type': 'AdamW', 'lr': 1e-3, 'betas': [0.9, 0.999], 'weight_decay': 0.05, 'paramwise_options': {'ln': {'weight_decay': 0.}, 'bias': {'weight_decay': 0.}}}
    model = MaskFeat(cfg)
    img = torch.randn(2, 3, 32, 32)
    masks = []
    for _ in range(5):
        m = (torch.rand(2, 4, 4) < 0.4).float()
        m[:, 0, 0] = 1  # at least one masked patch per image
        masks.append(m)
    replay('maskfeat-tiny', model, cfg, opt, img, masks)


def part_counts(model):
    """Parameter elements per direct child (all, and those that require grad), as count_parameters.py sums them."""
    out = {}
    for name, child in model.named_children():
        ps = list(child.parameters())
        out[name] = {'total': sum(p.numel() for p in ps), 'trainable': sum(p.numel() for p in ps if p.requires_grad)}
    return out


def write_counts():
    """Parameter counts of the seed's model-zoo MIM configs (test/fixtures/torch/mim-param-counts.json)."""
    counts = {}
    mae_b = {'type': 'MAE', 'backbone': {'type': 'MAEViT', 'arch': {'embed_dims': 768, 'num_layers': 12, 'num_heads': 12, 'feedforward_channels': 3072},
                                          'img_size': 224, 'patch_size': 16, 'mask_ratio': 0.75},
             'neck': {'type': 'MAEPretrainDecoder', 'patch_size': 16, 'in_chans': 3, 'embed_dim': 768, 'decoder_embed_dim': 512, 'decoder_depth': 8,
                      'decoder_num_heads': 16, 'mlp_ratio': 4.}, 'head': {'type': 'MAEPretrainHead', 'norm_pix': True, 'patch_size': 16}}
    counts['selfsup/mae/mae_vit-base-p16_8xb512-coslr-400e_in1k.py'] = part_counts(MAE(mae_b))
    path = os.path.join(OUT, 'mim-param-counts.json')
    with open(path, 'w') as f:
        json.dump(counts, f, indent=1, sort_keys=True)
        f.write('\n')
    print(f'wrote {path}')


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    which = sys.argv[1:] or ['mae', 'counts', 'hog', 'maskfeat']
    for w in which:
        {'mae': write_mae, 'counts': write_counts, 'hog': write_hog, 'maskfeat': write_maskfeat}[w]()


if __name__ == '__main__':
    sys.exit(main())
