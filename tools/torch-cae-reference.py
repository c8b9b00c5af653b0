#!/usr/bin/python3
"""Writes the PyTorch reference fixture of ssl's CAE (test/fixtures/torch/cae-tiny.safetensors), the
small random DALL-E tokenizer it reads (test/fixtures/torch/cae-tokenizer.pth), and one of the
MIMVisionTransformer of the -rpe fine-tuning config (vit-rpe-tiny.safetensors: use_window,
init_values, qkv_bias=False, under Classification with MAEFinetuneHead; the labels of step k stand in
the fixture's mask.<k> slot).
Run:  /usr/bin/python3 tools/torch-cae-reference.py [cae] [rpe] [counts]  (counts: the MaskFeat/CAE ViT-B/16 parameter counts)

The modules re-implement MMSelfSup 0.x (models/algorithms/cae.py, backbones/cae_vit.py,
necks/cae_neck.py, heads/cae_head.py, utils/transformer_blocks.py, utils/dall_e.py) with the same
state-dict names; the block mask is passed in. Besides the keys of tools/torch-mim-reference.py's
replay the fixture holds `img_target` (the tokenizer's picture, NHWC in [0, 1]) and `tokens.<k>`
(the DALL-E tokens of step k, to check the tokenizer on its own).
"""
import importlib.util
import json
import math
import os
import sys
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('torch_mim_reference', os.path.join(HERE, 'torch-mim-reference.py'))
mim = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mim)
ref = mim.ref


class MultiheadAttention(nn.Module):
    """mmselfsup utils MultiheadAttention: qkv_bias=False -> q_bias and v_bias (k bias 0)."""

    def __init__(self, d, heads, qkv_bias):
        super().__init__()
        self.heads, self.qkv_bias = heads, qkv_bias
        self.qkv = nn.Linear(d, 3 * d, bias=qkv_bias)
        if not qkv_bias:
            self.q_bias = nn.Parameter(torch.zeros(d))
            self.v_bias = nn.Parameter(torch.zeros(d))
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        B, N, C = x.shape
        if not self.qkv_bias:
            qkv = F.linear(x, self.qkv.weight, torch.cat((self.q_bias, torch.zeros_like(self.v_bias, requires_grad=False), self.v_bias)))
        else:
            qkv = self.qkv(x)
        qkv = qkv.reshape(B, N, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q @ k.transpose(-2, -1)) * (C // self.heads) ** -0.5).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))


class EncoderLayer(nn.Module):
    """mmselfsup utils TransformerEncoderLayer (layer scale gamma_1/gamma_2 when init_values > 0)."""

    def __init__(self, d, heads, ff, qkv_bias, init_values):
        super().__init__()
        self.ln1 = nn.LayerNorm(d, eps=1e-6)
        self.attn = MultiheadAttention(d, heads, qkv_bias)
        self.ln2 = nn.LayerNorm(d, eps=1e-6)
        self.ffn = ref.FFN(d, ff)
        if init_values > 0:
            self.gamma_1 = nn.Parameter(init_values * torch.ones(d))
            self.gamma_2 = nn.Parameter(init_values * torch.ones(d))
        else:
            self.gamma_1 = self.gamma_2 = None

    def forward(self, x):
        if self.gamma_1 is not None:
            x = x + self.gamma_1 * self.attn(self.ln1(x))
            return x + self.gamma_2 * self.ffn(self.ln2(x))
        x = x + self.attn(self.ln1(x))
        return x + self.ffn(self.ln2(x))


class CAEViT(nn.Module):
    def __init__(self, d, layers, heads, ff, img_size, patch_size, qkv_bias, init_values):
        super().__init__()
        self.res = img_size // patch_size
        self.num_patches = self.res * self.res
        self.patch_embed = ref.PatchEmbed(3, d, patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(mim.sincos(self.res, d), requires_grad=False)
        self.layers = nn.ModuleList([EncoderLayer(d, heads, ff, qkv_bias, init_values) for _ in range(layers)])
        self.ln1 = nn.LayerNorm(d, eps=1e-6)

    def forward(self, img, mask):
        x = self.patch_embed.projection(img).flatten(2).transpose(1, 2)
        batch_size, _, dim = x.size()
        cls_tokens = self.cls_token.expand(batch_size, -1, -1)
        x_unmasked = torch.cat((cls_tokens, x[~mask].reshape(batch_size, -1, dim)), dim=1)
        pos_embed = self.pos_embed.expand(batch_size, self.num_patches + 1, dim)
        pos_embed_unmasked = pos_embed[:, 1:][~mask].reshape(batch_size, -1, dim)
        x_unmasked = x_unmasked + torch.cat((pos_embed[:, :1], pos_embed_unmasked), dim=1)
        for layer in self.layers:
            x_unmasked = layer(x_unmasked)
        return self.ln1(x_unmasked)


class CrossMultiheadAttention(nn.Module):
    def __init__(self, d, heads, qkv_bias):
        super().__init__()
        self.num_heads = heads
        self.scale = (d // heads) ** -0.5
        self.q = nn.Linear(d, d, bias=False)
        self.k = nn.Linear(d, d, bias=False)
        self.v = nn.Linear(d, d, bias=False)
        if qkv_bias:
            self.q_bias = nn.Parameter(torch.zeros(d))
            self.v_bias = nn.Parameter(torch.zeros(d))
        else:
            self.q_bias = self.v_bias = None
        self.proj = nn.Linear(d, d)

    def forward(self, x, k, v):
        B, N, _ = x.shape
        N_k, N_v = k.shape[1], v.shape[1]
        q_bias = k_bias = v_bias = None
        if self.q_bias is not None:
            q_bias, k_bias, v_bias = self.q_bias, torch.zeros_like(self.v_bias, requires_grad=False), self.v_bias
        q = F.linear(x, self.q.weight, q_bias).reshape(B, N, 1, self.num_heads, -1).permute(2, 0, 3, 1, 4).squeeze(0)
        k = F.linear(k, self.k.weight, k_bias).reshape(B, N_k, 1, self.num_heads, -1).permute(2, 0, 3, 1, 4).squeeze(0)
        v = F.linear(v, self.v.weight, v_bias).reshape(B, N_v, 1, self.num_heads, -1).permute(2, 0, 3, 1, 4).squeeze(0)
        attn = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, -1))


class CAETransformerRegressorLayer(nn.Module):
    def __init__(self, d, heads, ff, qkv_bias, init_values):
        super().__init__()
        self.norm1_q_cross = nn.LayerNorm(d, eps=1e-6)
        self.norm1_k_cross = nn.LayerNorm(d, eps=1e-6)
        self.norm1_v_cross = nn.LayerNorm(d, eps=1e-6)
        self.norm2_cross = nn.LayerNorm(d, eps=1e-6)
        self.cross_attn = CrossMultiheadAttention(d, heads, qkv_bias)
        self.ffn = ref.FFN(d, ff)
        if init_values > 0:
            self.gamma_1_cross = nn.Parameter(init_values * torch.ones(d))
            self.gamma_2_cross = nn.Parameter(init_values * torch.ones(d))
        else:
            self.gamma_1_cross = nn.Parameter(torch.ones(d), requires_grad=False)
            self.gamma_2_cross = nn.Parameter(torch.ones(d), requires_grad=False)

    def forward(self, x_q, x_kv, pos_q, pos_k):
        x = x_q + self.gamma_1_cross * self.cross_attn(self.norm1_q_cross(x_q + pos_q), k=self.norm1_k_cross(x_kv + pos_k), v=self.norm1_v_cross(x_kv))
        x = self.norm2_cross(x)
        return x + self.gamma_2_cross * self.ffn(x)


class CAENeck(nn.Module):
    def __init__(self, n):
        super().__init__()
        d, heads, ff = n['embed_dims'], n['num_heads'], int(n['mlp_ratio'] * n['embed_dims'])
        self.mask_token_num = n['mask_tokens_num']
        self.regressors = nn.ModuleList([CAETransformerRegressorLayer(d, heads, ff, True, n['init_values']) for _ in range(n['regressor_depth'])])
        self.decoders = nn.ModuleList([EncoderLayer(d, heads, ff, True, n['init_values']) for _ in range(n['decoder_depth'])])
        self.norm_regressor = nn.LayerNorm(d, eps=1e-6)
        self.norm_decoder = nn.LayerNorm(d, eps=1e-6)
        self.head = nn.Linear(d, n['num_classes'])
        self.mask_token = nn.Parameter(torch.zeros(1, 1, d))

    def forward(self, x_unmasked, pos_embed_masked, pos_embed_unmasked):
        x_masked = self.mask_token.expand(x_unmasked.shape[0], self.mask_token_num, -1)
        for regressor in self.regressors:
            x_masked = regressor(x_masked, torch.cat([x_unmasked, x_masked], dim=1), pos_embed_masked, torch.cat([pos_embed_unmasked, pos_embed_masked], dim=1))
        x_masked = self.norm_regressor(x_masked)
        latent_pred = x_masked
        x_masked = x_masked + pos_embed_masked
        for decoder in self.decoders:
            x_masked = decoder(x_masked)
        return self.head(self.norm_decoder(x_masked)), latent_pred


# ---------------------------------------------------------------- DALL-E encoder (utils/dall_e.py without attrs)
class DalleConv(nn.Module):
    def __init__(self, n_in, n_out, kw):
        super().__init__()
        self.kw = kw
        self.w = nn.Parameter(torch.empty(n_out, n_in, kw, kw).normal_(std=1 / math.sqrt(n_in * kw ** 2)), requires_grad=False)
        self.b = nn.Parameter(torch.empty(n_out).normal_(std=0.1), requires_grad=False)  # DALL-E starts at 0; nonzero so it is checked

    def forward(self, x):
        return F.conv2d(x, self.w, self.b, padding=(self.kw - 1) // 2)


class EncoderBlock(nn.Module):
    def __init__(self, n_in, n_out, n_layers):
        super().__init__()
        n_hid = n_out // 4
        self.post_gain = 1 / (n_layers ** 2)
        self.id_path = DalleConv(n_in, n_out, 1) if n_in != n_out else nn.Identity()
        self.res_path = nn.Sequential(OrderedDict([
            ('relu_1', nn.ReLU()), ('conv_1', DalleConv(n_in, n_hid, 3)), ('relu_2', nn.ReLU()), ('conv_2', DalleConv(n_hid, n_hid, 3)),
            ('relu_3', nn.ReLU()), ('conv_3', DalleConv(n_hid, n_hid, 3)), ('relu_4', nn.ReLU()), ('conv_4', DalleConv(n_hid, n_out, 1))]))

    def forward(self, x):
        return self.id_path(x) + self.post_gain * self.res_path(x)


class DalleEncoder(nn.Module):
    def __init__(self, n_hid=256, n_blk_per_group=2, input_channels=3, vocab_size=8192):
        super().__init__()
        blk_range = range(n_blk_per_group)
        n_layers = 4 * n_blk_per_group

        def group(i, n_in, n_out, pool):
            items = [(f'block_{j + 1}', EncoderBlock(n_in if j == 0 else n_out, n_out, n_layers)) for j in blk_range]
            if pool:
                items.append(('pool', nn.MaxPool2d(kernel_size=2)))
            return (f'group_{i}', nn.Sequential(OrderedDict(items)))

        self.blocks = nn.Sequential(OrderedDict([
            ('input', DalleConv(input_channels, n_hid, 7)),
            group(1, n_hid, n_hid, True), group(2, n_hid, 2 * n_hid, True), group(3, 2 * n_hid, 4 * n_hid, True), group(4, 4 * n_hid, 8 * n_hid, False),
            ('output', nn.Sequential(OrderedDict([('relu', nn.ReLU()), ('conv', DalleConv(8 * n_hid, vocab_size, 1))]))),
        ]))

    def forward(self, x):
        return self.blocks(x.float())


class CAEHead(nn.Module):
    def __init__(self, encoder, lambd):
        super().__init__()
        self.encoder = encoder
        self.lambd = lambd

    def forward(self, img_target, outputs, latent_pred, latent_target, mask):
        with torch.no_grad():
            target = torch.argmax(self.encoder(img_target), dim=1).flatten(1)
        self.last_tokens = target
        target = target[mask]
        loss_main = F.cross_entropy(outputs, target)
        loss_align = F.mse_loss(latent_pred, latent_target.detach()) * self.lambd
        return loss_main + loss_align


class CAE(nn.Module):
    def __init__(self, cfg, encoder):
        super().__init__()
        b, n, h = cfg['backbone'], cfg['neck'], cfg['head']
        a = b['arch']
        make = lambda: CAEViT(a['embed_dims'], a['num_layers'], a['num_heads'], a['feedforward_channels'], b['img_size'], b['patch_size'], b['qkv_bias'], b['init_values'])
        self.backbone = make()
        self.teacher = make()
        self.neck = CAENeck(n)
        self.head = CAEHead(encoder, h['lambd'])
        self.momentum = cfg['base_momentum']
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.normal_(m.bias, std=0.02)  # nonzero, so bias gradients are checked too
        for name, p in self.named_parameters():
            if name.endswith(('q_bias', 'v_bias', 'cls_token', 'mask_token')):
                nn.init.normal_(p, std=0.02)
        for pb, pt in zip(self.backbone.parameters(), self.teacher.parameters()):
            pt.data.copy_(pb.data)
            pt.requires_grad = False
        self.img_norm = lambda x: (x - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    def momentum_update(self):
        for pb, pt in zip(self.backbone.parameters(), self.teacher.parameters()):
            pt.data = pt.data * self.momentum + pb.data * (1. - self.momentum)

    def forward_train(self, img, img_target, mask):
        img = self.img_norm(img)
        img_target = 0.8 * img_target + 0.1
        mask = mask.flatten(1).to(torch.bool)
        unmasked = self.backbone(img, mask)
        with torch.no_grad():
            latent_target = self.teacher(img, ~mask)[:, 1:, :]
            self.momentum_update()
        pos_embed = self.backbone.pos_embed.expand(img.shape[0], -1, -1)
        pos_embed_masked = pos_embed[:, 1:][mask].reshape(img.shape[0], -1, pos_embed.shape[-1])
        pos_embed_unmasked = pos_embed[:, 1:][~mask].reshape(img.shape[0], -1, pos_embed.shape[-1])
        logits, latent_pred = self.neck(unmasked[:, 1:], pos_embed_masked, pos_embed_unmasked)
        logits = logits.view(-1, logits.shape[-1])
        return self.head(img_target, logits, latent_pred, latent_target, mask)


# ---------------------------------------------------------------- MIMVisionTransformer with use_window (the -rpe fine-tuning config)
class MultiheadAttentionWithRPE(nn.Module):
    """mmselfsup utils MultiheadAttentionWithRPE: bias-free qkv, q_bias/v_bias only when qkv_bias."""

    def __init__(self, d, heads, window_size, qkv_bias):
        super().__init__()
        self.num_heads, self.head_dims, self.window_size = heads, d // heads, window_size
        self.scale = self.head_dims ** -0.5
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        if qkv_bias:
            self.q_bias = nn.Parameter(torch.zeros(d))
            self.v_bias = nn.Parameter(torch.zeros(d))
        else:
            self.q_bias = self.v_bias = None
        self.num_relative_distance = (2 * window_size[0] - 1) * (2 * window_size[1] - 1) + 3
        self.relative_position_bias_table = nn.Parameter(torch.zeros(self.num_relative_distance, heads))
        coords = torch.stack(torch.meshgrid([torch.arange(window_size[0]), torch.arange(window_size[1])], indexing='ij'))
        coords_flatten = torch.flatten(coords, 1)
        relative_coords = (coords_flatten[:, :, None] - coords_flatten[:, None, :]).permute(1, 2, 0).contiguous()
        relative_coords[:, :, 0] += window_size[0] - 1
        relative_coords[:, :, 1] += window_size[1] - 1
        relative_coords[:, :, 0] *= 2 * window_size[1] - 1
        index = torch.zeros(size=(window_size[0] * window_size[1] + 1, ) * 2, dtype=relative_coords.dtype)
        index[1:, 1:] = relative_coords.sum(-1)
        index[0, 0:] = self.num_relative_distance - 3
        index[0:, 0] = self.num_relative_distance - 2
        index[0, 0] = self.num_relative_distance - 1
        self.register_buffer('relative_position_index', index)
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        qkv_bias = None
        if self.q_bias is not None:
            qkv_bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias, requires_grad=False), self.v_bias))
        B, N, _ = x.shape
        qkv = F.linear(x, weight=self.qkv.weight, bias=qkv_bias).reshape(B, N, 3, self.num_heads, self.head_dims).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.scale) @ k.transpose(-2, -1)
        n = self.window_size[0] * self.window_size[1] + 1
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1).permute(2, 0, 1).contiguous()
        attn = (attn + bias.unsqueeze(0)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, -1))


class MIMVisionTransformer(nn.Module):
    def __init__(self, b):
        super().__init__()
        a = b['arch']
        d = a['embed_dims']
        self.res = b['img_size'] // b['patch_size']
        self.patch_embed = ref.PatchEmbed(3, d, b['patch_size'])
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.res * self.res + 1, d))
        self.layers = nn.ModuleList()
        for _ in range(a['num_layers']):
            layer = EncoderLayer(d, a['num_heads'], a['feedforward_channels'], b['qkv_bias'], b['init_values'])
            if b['use_window']:
                layer.attn = MultiheadAttentionWithRPE(d, a['num_heads'], (self.res, self.res), b['qkv_bias'])
            self.layers.append(layer)
        self.final_norm = b['final_norm']
        if self.final_norm:
            self.ln1 = nn.LayerNorm(d, eps=1e-6)
        else:
            self.fc_norm = nn.LayerNorm(d, eps=1e-6)

    def forward(self, x):
        B = x.shape[0]
        x = self.patch_embed.projection(x).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token.expand(B, -1, -1), x), dim=1) + self.pos_embed
        for layer in self.layers:
            x = layer(x)
        if self.final_norm:
            return self.ln1(x)[:, 0]
        return self.fc_norm(x[:, 1:, :].mean(dim=1))


class RPEClassification(nn.Module):
    """Classification(MIMVisionTransformer, MAEFinetuneHead): mmcls LabelSmoothLoss on the head's logits."""

    def __init__(self, cfg):
        super().__init__()
        self.backbone = MIMVisionTransformer(cfg['backbone'])
        h = cfg['head']
        self.head = nn.Module()
        self.head.head = nn.Linear(h['embed_dim'], h['num_classes'])
        self.eps, self.num_classes = h['label_smooth_val'], h['num_classes']
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.normal_(m.bias, std=0.02)
        for name, p in self.named_parameters():
            if name.endswith(('cls_token', 'pos_embed', 'relative_position_bias_table')):
                nn.init.normal_(p, std=0.02)

    def forward_train(self, img, labels):
        logits = self.head.head(self.backbone(img))
        smooth = F.one_hot(labels.long(), self.num_classes).float() * (1 - self.eps) + self.eps / self.num_classes
        return -(smooth * F.log_softmax(logits, dim=-1)).sum(-1).mean()


def write_rpe():
    torch.manual_seed(0)
    cfg = {
        'type': 'Classification',
        'backbone': {'type': 'MIMVisionTransformer', 'arch': {'embed_dims': 16, 'num_layers': 2, 'num_heads': 2, 'feedforward_channels': 32}, 'img_size': 16,
                     'patch_size': 4, 'final_norm': False, 'use_window': True, 'init_values': 0.1, 'qkv_bias': False},
        'head': {'type': 'MAEFinetuneHead', 'embed_dim': 16, 'num_classes': 4, 'label_smooth_val': 0.1},
    }
    opt = {'type': 'AdamW', 'lr': 1e-3, 'betas': [0.9, 0.999], 'weight_decay': 0.05,
           'paramwise_options': {'ln': {'weight_decay': 0.}, 'bias': {'weight_decay': 0.}, 'pos_embed': {'weight_decay': 0.}, 'cls_token': {'weight_decay': 0.}}}
    model = RPEClassification(cfg)
    img = torch.randn(4, 3, 16, 16)
    labels = [torch.randint(0, 4, (4, )) for _ in range(5)]  # in the fixture's mask.<k> slot
    mim.replay('vit-rpe-tiny', model, cfg, opt, img, labels)


def write_counts():
    """Parameter counts per part of the seed MaskFeat and CAE ViT-B/16 models (without CAE's DALL-E tokenizer,
    which ssl reads at start-up) -> test/fixtures/torch/mim-param-counts-cae-maskfeat.json."""
    vit_b = {'embed_dims': 768, 'num_layers': 12, 'num_heads': 12, 'feedforward_channels': 3072}
    maskfeat = mim.MaskFeat({'backbone': {'arch': vit_b, 'img_size': 224, 'patch_size': 16}, 'head': {'embed_dim': 768, 'hog_dim': 108},
                             'hog_para': {'nbins': 9, 'pool': 8, 'gaussian_window': 16}})
    cae_cfg = {'backbone': {'arch': vit_b, 'img_size': 224, 'patch_size': 16, 'qkv_bias': False, 'init_values': 0.1},
               'neck': {'patch_size': 16, 'num_classes': 8192, 'embed_dims': 768, 'num_heads': 12, 'regressor_depth': 4, 'decoder_depth': 4,
                        'mlp_ratio': 4, 'init_values': 0.1, 'mask_tokens_num': 75},
               'head': {'lambd': 2}, 'base_momentum': 0.0}
    cae = CAE(cae_cfg, None)
    mf = mim.part_counts(maskfeat)
    mf.pop('hog_layer')  # no parameters
    counts = {'selfsup/maskfeat/maskfeat_vit-base-p16_8xb256-coslr-300e_in1k.py': mf}
    parts = mim.part_counts(cae)
    parts.pop('head')
    counts['selfsup/cae/cae_vit-base-p16_8xb256-fp16-coslr-300e_in1k.py'] = parts  # the other two cae configs build the same model
    path = os.path.join(HERE, '..', 'test', 'fixtures', 'torch', 'mim-param-counts-cae-maskfeat.json')
    with open(path, 'w') as f:
        json.dump(counts, f, indent=1, sort_keys=True)
        f.write('\n')
    print(f'wrote {path}')


TOKENIZER = 'test/fixtures/torch/cae-tokenizer.pth'


def write_cae():
    torch.manual_seed(0)
    tok = {'n_hid': 4, 'n_blk_per_group': 1, 'input_channels': 3, 'vocab_size': 16}
    cfg = {
        'type': 'CAE',
        'backbone': {'type': 'CAEViT', 'arch': {'embed_dims': 16, 'num_layers': 2, 'num_heads': 2, 'feedforward_channels': 32}, 'img_size': 16, 'patch_size': 4,
                     'qkv_bias': False, 'init_values': 0.1},
        'neck': {'type': 'CAENeck', 'patch_size': 4, 'num_classes': 16, 'embed_dims': 16, 'num_heads': 2, 'regressor_depth': 1, 'decoder_depth': 1,
                 'mlp_ratio': 2, 'init_values': 0.1, 'mask_tokens_num': 6},
        'head': {'type': 'CAEHead', 'tokenizer_path': TOKENIZER, 'lambd': 2},
        'base_momentum': 0.5,
    }
    opt = {'type': 'AdamW', 'lr': 1e-3, 'betas': [0.9, 0.999], 'weight_decay': 0.05,
           'paramwise_options': {'bias': {'weight_decay': 0.}, 'gamma': {'weight_decay': 0.}, 'norm': {'weight_decay': 0.}}}
    encoder = DalleEncoder(**tok)
    model = CAE(cfg, encoder)
    torch.save(encoder.state_dict(), os.path.join(HERE, '..', TOKENIZER))
    print(f'wrote {TOKENIZER} ({os.path.getsize(os.path.join(HERE, "..", TOKENIZER))} bytes)')
    img = torch.rand(2, 3, 16, 16)
    img_target = torch.rand(2, 3, 32, 32)
    masks = []
    for _ in range(5):
        m = torch.zeros(2, 16)
        for i in range(2):
            m[i, torch.randperm(16)[:6]] = 1
        masks.append(m.reshape(2, 4, 4))
    extra = {'img_target': ref.nhwc(img_target)}
    cae_forward = model.forward_train

    def step(x, m):
        loss = cae_forward(x, img_target, m)
        extra[f'tokens.{len(extra) - 1}'] = model.head.last_tokens.clone()
        return loss

    model.forward_train = step
    mim.replay('cae-tiny', model, cfg, opt, img, masks, extra_meta={'tokenizer': json.dumps(tok)}, extra_tensors=extra)


if __name__ == '__main__':
    torch.set_num_threads(1)
    for w in sys.argv[1:] or ['cae', 'rpe', 'counts']:
        {'cae': write_cae, 'rpe': write_rpe, 'counts': write_counts}[w]()
