#!/usr/bin/python3
"""Writes PyTorch reference fixtures for ssl's algorithms (test/fixtures/torch/algo-*.safetensors).

Run where Debian's python3-torch is installed:  /usr/bin/python3 tools/torch-algos-reference.py [--out DIR] [NAME ...]

Each algorithm below is MMSelfSup 0.x's `forward_train` (and its neck, head and memory) written
again in plain PyTorch, on a tiny ResNet_CIFAR so the fixtures stay small. Weights come from
`hash_tensor`, the input of step k from `step_input` (test/models/hash-weights.ts reproduces both),
so neither is stored. What is random in
MMSelfSup (dropout masks, NPID's negative draws and memory init, InterCLR's queue, memory and
positive/negative draws) is drawn here and stored, and the
test feeds the same draws to ssl. A fixture holds, after K SGD steps from the same start:
  loss            [K] the loss of each step
  grad.<name>     the parameter gradients of step 0 (PyTorch layout)
  final.<name>    every float state-dict entry after K steps (parameters and BN running stats)
  + per-algorithm inputs (labels, dataset indices, dropout masks, memory bank before/after)
and metadata `model` (the ssl/MMSelfSup model config JSON), `optimizer`, `input` (shapes per step), and where
the model states them `view_shapes` (one input shape per view: multi-crop), `optimizer_config` (its
`frozen_layers_cfg` drops gradients here as DistOptimizerHook does) and `epoch_length` (the replay runs epoch hooks).
"""
import importlib.util
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('torch_reference', os.path.join(HERE, 'torch-reference.py'))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
OUT = ref.OUT
STEPS = 5
OPTIMIZER = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)
BACKBONE = dict(type='ResNet_CIFAR', depth=18, stem_channels=4, base_channels=2, out_indices=[4], norm_cfg=dict(type='BN'))
FEAT = 16  # layer4 channels of BACKBONE


def hash01(j, salt):
    """A hash of the flat index j into [-1, 1): 2 frac(43758.5453 sin(12.9898 j + 78.233 salt)) - 1."""
    h = torch.sin(12.9898 * j + 78.233 * salt) * 43758.5453
    return 2 * (h - torch.floor(h)) - 1


def hash_tensor(name, shape):
    """Initial weights: torch-reference.py's scales, but hashed values (its sin(0.618 j) pattern makes
    channels of these tiny nets nearly collinear, and training from there is chaotic in float32)."""
    n = 1
    for d in shape:
        n *= d
    leaf = name.split('.')[-1]
    if leaf == 'num_batches_tracked' or leaf.endswith('_ptr'):
        return torch.zeros(shape, dtype=torch.int64)
    v = hash01(torch.arange(n, dtype=torch.float64), ref.name_hash(name) + 1)
    if leaf == 'running_var':
        out = 1 + 0.25 * (v + 1)
    elif leaf == 'running_mean':
        out = 0.1 * v
    elif len(shape) == 1 and leaf == 'weight':
        out = 1 + 0.1 * v
    elif len(shape) == 1:
        out = 0.05 * v
    else:
        out = v * math.sqrt(3.0 / (n // shape[0]))
    return out.reshape(shape).to(torch.float32)


def fill_hash(model):
    """Every state-dict entry but the fixed Sobel filters."""
    sd = model.state_dict()
    model.load_state_dict({k: (t if k.startswith('sobel_layer.') else hash_tensor(k, list(t.shape))) for k, t in sd.items()})


def tiny_backbone():
    return ref.ResNet(18, stem_channels=4, base_channels=2, cifar=True)


def step_input(k, shape_nhwc, salt=1):
    """Step k's batch, NHWC: hash01 of the flat index with salt k + salt (the test computes the same)."""
    n = 1
    for d in shape_nhwc:
        n *= d
    return hash01(torch.arange(n, dtype=torch.float64), k + salt).reshape(shape_nhwc).to(torch.float32)


def nchw(x):
    return x.permute(0, 3, 1, 2).contiguous()


# ---------------------------------------------------------------- MMSelfSup 0.x components
class ClsHead(nn.Module):
    def __init__(self, in_channels, num_classes, with_avg_pool):
        super().__init__()
        self.with_avg_pool = with_avg_pool
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def forward(self, x):
        x = x[0]
        if self.with_avg_pool:
            x = F.adaptive_avg_pool2d(x, 1)
        return [self.fc_cls(x.view(x.size(0), -1))]

    def loss(self, cls_score, labels):
        return F.cross_entropy(cls_score[0], labels)


class MaskDropout(nn.Module):
    """nn.Dropout(0.5) whose masks are drawn from a seeded generator and kept (the test replays them)."""

    def __init__(self):
        super().__init__()
        self.g = torch.Generator().manual_seed(7)
        self.masks = []

    def forward(self, x):
        m = torch.bernoulli(torch.full(x.shape, 0.5), generator=self.g)
        self.masks.append(m)
        return x * m / 0.5


class RelativeLocNeck(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.fc = nn.Linear(in_channels * 2, out_channels)
        self.bn = nn.BatchNorm1d(out_channels, momentum=0.003)
        self.drop = MaskDropout()

    def forward(self, x):
        x = F.adaptive_avg_pool2d(x[0], 1)
        x = x.view(x.size(0), -1)
        return [self.drop(F.relu(self.bn(self.fc(x))))]


class LinearNeck(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.fc = nn.Linear(in_channels, out_channels)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(x[0], 1)
        return [self.fc(x.view(x.size(0), -1))]


def contrastive_head(pos, neg, temperature):
    logits = torch.cat((pos, neg), dim=1) / temperature
    return F.cross_entropy(logits, torch.zeros(logits.size(0), dtype=torch.long))


class SimpleMemory:
    def __init__(self, length, feat_dim, momentum, g):
        self.feature_bank = F.normalize(torch.randn(length, feat_dim, generator=g))
        self.momentum = momentum

    def update(self, idx, feature):  # one rank: _gather is the identity
        feature_norm = F.normalize(feature)
        feature_old = self.feature_bank[idx, ...]
        feature_new = (1 - self.momentum) * feature_old + self.momentum * feature_norm
        self.feature_bank[idx, ...] = F.normalize(feature_new)


# ---------------------------------------------------------------- algorithms (forward_train)
class RotationPred(nn.Module):
    cfg = dict(type='RotationPred', backbone=BACKBONE, head=dict(type='ClsHead', with_avg_pool=True, in_channels=FEAT, num_classes=4))
    shape = [8, 16, 16, 3]  # 2 images x 4 rotations

    def __init__(self):
        super().__init__()
        self.backbone = tiny_backbone()
        self.head = ClsHead(FEAT, 4, True)

    def inputs(self, k):
        return dict(rot_label=torch.arange(4).repeat(2))

    def forward_train(self, x, rot_label, **_):
        return self.head.loss(self.head(self.backbone(x)), rot_label)


class RelativeLoc(nn.Module):
    cfg = dict(type='RelativeLoc', backbone=BACKBONE, neck=dict(type='RelativeLocNeck', in_channels=FEAT, out_channels=32),
               head=dict(type='ClsHead', with_avg_pool=False, in_channels=32, num_classes=8))
    shape = [16, 16, 16, 6]  # 2 images x 8 (patch, centre) pairs on the channel axis

    def __init__(self):
        super().__init__()
        self.backbone = tiny_backbone()
        self.neck = RelativeLocNeck(FEAT, 32)
        self.head = ClsHead(32, 8, False)

    def inputs(self, k):
        return dict(patch_label=torch.arange(8).repeat(2))

    def forward_train(self, x, patch_label, **_):
        img1, img2 = torch.chunk(x, 2, dim=1)
        x1 = self.backbone(img1)
        x2 = self.backbone(img2)
        x = (torch.cat((x1[0], x2[0]), dim=1),)
        return self.head.loss(self.head(self.neck(x)), patch_label)

    def extra(self):
        return {f'dropout.{k}': m for k, m in enumerate(self.neck.drop.masks)}


class NPID(nn.Module):
    LENGTH, DIM, NEG = 16, 8, 6
    cfg = dict(type='NPID', backbone=BACKBONE, neck=dict(type='LinearNeck', in_channels=FEAT, out_channels=DIM, with_avg_pool=True),
               head=dict(type='ContrastiveHead', temperature=0.07), memory_bank=dict(type='SimpleMemory', length=LENGTH, feat_dim=DIM, momentum=0.5),
               neg_num=NEG)
    shape = [4, 16, 16, 3]
    salt = 6  # step inputs whose ReLU inputs all stay >= 8.8e-5 from 0 (salt 1 has one 1.6e-7 away)

    def __init__(self):
        super().__init__()
        self.backbone = tiny_backbone()
        self.neck = LinearNeck(FEAT, self.DIM)
        self.g = torch.Generator().manual_seed(11)
        self.memory_bank = SimpleMemory(self.LENGTH, self.DIM, 0.5, self.g)
        self.memory_init = self.memory_bank.feature_bank.clone()
        self.negs = []

    def inputs(self, k):
        return dict(idx=torch.tensor([(5 * k + 3 * i) % self.LENGTH for i in range(4)]))

    def forward_train(self, x, idx, **_):
        feature = F.normalize(self.neck(self.backbone(x))[0])
        bs, feat_dim = feature.shape[:2]
        neg_idx = torch.randint(self.LENGTH, (bs * self.NEG,), generator=self.g)  # AliasMethod(ones).draw
        self.negs.append(neg_idx)
        pos_feat = torch.index_select(self.memory_bank.feature_bank, 0, idx)
        neg_feat = torch.index_select(self.memory_bank.feature_bank, 0, neg_idx).view(bs, self.NEG, feat_dim)
        pos_logits = torch.einsum('nc,nc->n', [pos_feat, feature]).unsqueeze(-1)
        neg_logits = torch.bmm(neg_feat, feature.unsqueeze(2)).squeeze(2)
        loss = contrastive_head(pos_logits, neg_logits, 0.07)
        with torch.no_grad():
            self.memory_bank.update(idx, feature.detach())
        return loss

    def extra(self):
        out = {f'neg_idx.{k}': n for k, n in enumerate(self.negs)}
        out['memory.init'] = self.memory_init
        out['memory.final'] = self.memory_bank.feature_bank
        return out


class Sobel(nn.Module):
    def __init__(self):
        super().__init__()
        grayscale = nn.Conv2d(3, 1, kernel_size=1, stride=1, padding=0)
        grayscale.weight.data.fill_(1.0 / 3.0)
        grayscale.bias.data.zero_()
        sobel_filter = nn.Conv2d(1, 2, kernel_size=3, stride=1, padding=1)
        sobel_filter.weight.data[0, 0].copy_(torch.FloatTensor([[1, 0, -1], [2, 0, -2], [1, 0, -1]]))
        sobel_filter.weight.data[1, 0].copy_(torch.FloatTensor([[1, 2, 1], [0, 0, 0], [-1, -2, -1]]))
        sobel_filter.bias.data.zero_()
        self.sobel = nn.Sequential(grayscale, sobel_filter)
        for p in self.sobel.parameters():
            p.requires_grad = False

    def forward(self, x):
        return self.sobel(x)


class DeepCluster(nn.Module):
    """with_sobel, AvgPool2dNeck, ClsHead; set_reweight from a fixed assignment before training."""
    K = 6
    cfg = dict(type='DeepCluster', with_sobel=True, backbone=dict(BACKBONE, in_channels=2), neck=dict(type='AvgPool2dNeck'),
               head=dict(type='ClsHead', with_avg_pool=False, in_channels=FEAT, num_classes=K))
    shape = [8, 16, 16, 3]
    salt = 28  # step inputs whose ReLU inputs all stay >= 2.5e-5 from 0 (salt 1 has one 1.8e-7 away)
    ASSIGNMENT = [0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 4, 4, 5, 5, 5, 5, 5, 5, 3]

    def __init__(self):
        super().__init__()
        self.sobel_layer = Sobel()
        self.backbone = ref.ResNet(18, in_channels=2, stem_channels=4, base_channels=2, cifar=True)
        self.head = ClsHead(FEAT, self.K, False)
        # set_reweight(labels, 0.5)
        hist = torch.bincount(torch.tensor(self.ASSIGNMENT), minlength=self.K).float()
        inv = (1. / (hist + 1e-10)) ** 0.5
        self.loss_weight = inv / inv.sum()

    def inputs(self, k):
        return dict(pseudo_label=torch.tensor([(3 * k + 5 * i) % self.K for i in range(8)]))

    def forward_train(self, x, pseudo_label, **_):
        x = self.backbone(self.sobel_layer(x))
        x = [F.adaptive_avg_pool2d(x[0], 1)]
        return F.cross_entropy(self.head(x)[0], pseudo_label, weight=self.loss_weight)

    def extra(self):
        return {'assignment': torch.tensor(self.ASSIGNMENT)}


class ODCNeck(nn.Module):
    def __init__(self, in_channels, hid_channels, out_channels):
        super().__init__()
        self.fc0 = nn.Linear(in_channels, hid_channels)
        self.bn0 = nn.BatchNorm1d(hid_channels, momentum=0.001, affine=False)
        self.fc1 = nn.Linear(hid_channels, out_channels)
        self.drop = MaskDropout()

    def forward(self, x):
        x = F.adaptive_avg_pool2d(x[0], 1)
        x = self.drop(F.relu(self.bn0(self.fc0(x.view(x.size(0), -1)))))
        return [F.relu(self.fc1(x))]


class ODCMemory(nn.Module):
    """MMSelfSup's ODCMemory on one rank (_gather and the broadcasts are identities)."""

    def __init__(self, length, feat_dim, momentum, num_classes):
        super().__init__()
        self.feature_bank = torch.zeros((length, feat_dim))
        self.label_bank = torch.zeros((length, ), dtype=torch.long)
        self.register_buffer('centroids', torch.zeros((num_classes, feat_dim)))
        self.momentum = momentum
        self.num_classes = num_classes
        self.initialized = False

    def init_memory(self, feature, label):
        self.initialized = True
        self.label_bank.copy_(label)
        assert (torch.bincount(label, minlength=self.num_classes) != 0).all()
        self.feature_bank.copy_(feature / (feature.norm(dim=1).view(-1, 1) + 1e-10))
        self.centroids.copy_(self._compute_centroids())

    def _compute_centroids(self):
        centroids = self.centroids.clone()
        for c in range(self.num_classes):
            idx = (self.label_bank == c).nonzero().view(-1)
            if len(idx) > 0:
                centroids[c, :] = self.feature_bank[idx, :].mean(dim=0)
        return centroids

    def update_samples_memory(self, idx, feature):
        feature_norm = feature / (feature.norm(dim=1).view(-1, 1) + 1e-10)
        feature_new = (1 - self.momentum) * self.feature_bank[idx, ...] + self.momentum * feature_norm
        feature_norm = feature_new / (feature_new.norm(dim=1).view(-1, 1) + 1e-10)
        self.feature_bank[idx, ...] = feature_norm
        newlabel = torch.mm(self.centroids, feature_norm.permute(1, 0)).argmax(dim=0)
        change_ratio = (newlabel != self.label_bank[idx]).sum().float() / float(newlabel.shape[0])
        self.label_bank[idx] = newlabel.clone()
        return change_ratio

    def update_centroids_memory(self):
        self.centroids.copy_(self._compute_centroids())


class ODC(nn.Module):
    """ODCNeck (dropout masks replayed), ClsHead over the memory labels; after each SGD step ODCHook with
    centroids_update_interval=2 and set_reweight() (min_cluster=0: no small clusters, whose 2-means split
    is sklearn's and not reproduced)."""
    L, D, K, HID = 12, 6, 3, 8
    cfg = dict(type='ODC', backbone=BACKBONE,
               neck=dict(type='ODCNeck', in_channels=FEAT, hid_channels=HID, out_channels=D, with_avg_pool=True, norm_cfg=dict(type='BN')),
               head=dict(type='ClsHead', with_avg_pool=False, in_channels=D, num_classes=K),
               memory_bank=dict(type='ODCMemory', length=L, feat_dim=D, momentum=0.5, num_classes=K, min_cluster=0))
    shape = [4, 16, 16, 3]
    salt = 4  # step inputs whose ReLU inputs all stay >= 2.4e-5 from 0 (salt 1 has one 1.6e-7 away)
    # ssl's replay runs its ODCHook with these; after_iter below is MMSelfSup's ODCHook.after_train_iter
    hooks = [dict(type='ODCHook', centroids_update_interval=2, deal_with_small_clusters_interval=1, evaluate_interval=1, reweight=True, reweight_pow=0.5)]

    def __init__(self):
        super().__init__()
        self.backbone = tiny_backbone()
        self.neck = ODCNeck(FEAT, self.HID, self.D)
        self.head = ClsHead(self.D, self.K, False)
        self.memory_bank = ODCMemory(self.L, self.D, 0.5, self.K)
        g = torch.Generator().manual_seed(13)
        self.memory_init = torch.randn(self.L, self.D, generator=g)
        self.labels_init = torch.tensor([i % self.K for i in range(self.L)])
        self.loss_weight = torch.ones(self.K) / self.K
        self.changes = []

    def inputs(self, k):
        return dict(idx=torch.tensor([(5 * k + 3 * i) % self.L for i in range(4)]))

    def forward_train(self, x, idx, **_):
        if not self.memory_bank.initialized:  # DeepClusterHook(init_memory=True) before the run
            self.memory_bank.init_memory(self.memory_init.clone(), self.labels_init)
        feature = self.neck(self.backbone(x))
        loss = F.cross_entropy(self.head(feature)[0], self.memory_bank.label_bank[idx], weight=self.loss_weight)
        with torch.no_grad():
            self.changes.append(self.memory_bank.update_samples_memory(idx, feature[0].detach()))
        return loss

    def after_iter(self, k, _steps):
        if (k + 1) % 2 == 0:
            self.memory_bank.update_centroids_memory()
        hist = torch.bincount(self.memory_bank.label_bank, minlength=self.K).float()
        inv = (1. / (hist + 1e-10)) ** 0.5
        self.loss_weight = inv / inv.sum()

    def extra(self):
        out = {f'dropout.{k}': m for k, m in enumerate(self.neck.drop.masks)}
        out['odc.memory.init'] = self.memory_init
        out['odc.labels.init'] = self.labels_init
        out['odc.memory.final'] = self.memory_bank.feature_bank
        out['odc.labels.final'] = self.memory_bank.label_bank
        out['odc.change_ratio'] = torch.stack(self.changes)
        return out


class MoCoV2Neck(nn.Module):
    def __init__(self, in_channels, hid_channels, out_channels):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(in_channels, hid_channels), nn.ReLU(inplace=False), nn.Linear(hid_channels, out_channels))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(x[0], 1)
        return [self.mlp(x.view(x.size(0), -1))]


class InterCLRMemory:
    """MMSelfSup InterCLRMemory on one rank (its _gather and broadcasts are the identity)."""

    def __init__(self, length, feat_dim, momentum, num_classes, g):
        self.feature_bank = F.normalize(torch.randn(length, feat_dim, generator=g))
        self.label_bank = torch.arange(length) % num_classes
        self.centroids = torch.stack([self.feature_bank[self.label_bank == c].mean(0) for c in range(num_classes)])
        self.momentum = momentum

    def update_samples_memory(self, ind, feature):
        feature_norm = F.normalize(feature)
        feature_old = self.feature_bank[ind, :]
        feature_new = (1 - self.momentum) * feature_old + self.momentum * feature_norm
        feature_norm = F.normalize(feature_new)
        self.feature_bank[ind, :] = feature_norm
        newlabel = torch.mm(self.centroids, feature_norm.permute(1, 0)).argmax(dim=0)
        change_ratio = (newlabel != self.label_bank[ind]).sum().float() / float(newlabel.shape[0])
        self.label_bank[ind] = newlabel.clone()
        return change_ratio


class InterCLR(nn.Module):
    """InterCLRMoCo.forward_train with share_neck=False (inter necks of their own), the intra cosine
    margin on, the inter cosine margin -0.5 (the config's), online labels and semi-hard negatives
    (drawn here with a seeded generator and stored: the test feeds them to ssl)."""
    LENGTH, DIM, NEG, POOL, K, QUEUE, M = 16, 8, 4, 16, 3, 8, 0.99
    cfg = dict(type='InterCLRMoCo', backbone=BACKBONE, neck=dict(type='MoCoV2Neck', in_channels=FEAT, hid_channels=FEAT, out_channels=DIM, with_avg_pool=True),
               head=dict(type='ContrastiveHead', temperature=0.2), queue_len=QUEUE, feat_dim=DIM, momentum=M,
               memory_bank=dict(type='InterCLRMemory', length=LENGTH, feat_dim=DIM, momentum=0.5, num_classes=K, min_cluster=2),
               online_labels=True, neg_num=NEG, neg_sampling='semihard', semihard_neg_pool_num=POOL, semieasy_neg_pool_num=POOL,
               intra_cos_marign_loss=True, intra_cos_margin=0.1, inter_cos_marign_loss=True, inter_cos_margin=-0.5,
               intra_loss_weight=0.75, inter_loss_weight=0.25, share_neck=False, num_classes=K)
    shape = [4, 16, 16, 3]
    views = 2

    def __init__(self):
        super().__init__()
        neck = lambda: MoCoV2Neck(FEAT, FEAT, self.DIM)
        self.encoder_q = nn.Sequential(tiny_backbone(), neck())
        self.encoder_k = nn.Sequential(tiny_backbone(), neck())
        self.inter_neck_q = neck()
        self.inter_neck_k = neck()
        for p in list(self.encoder_k.parameters()) + list(self.inter_neck_k.parameters()):
            p.requires_grad = False
        self.g = torch.Generator().manual_seed(13)
        self.register_buffer('queue', F.normalize(torch.randn(self.DIM, self.QUEUE, generator=self.g), dim=0))
        self.queue_init = self.queue.clone()
        self.memory_bank = InterCLRMemory(self.LENGTH, self.DIM, 0.5, self.K, self.g)
        self.memory_init = self.memory_bank.feature_bank.clone()
        self.labels_init = self.memory_bank.label_bank.clone()
        self.queue_ptr = 0
        self.draws = {}

    def inputs(self, k):
        return dict(idx=torch.tensor([(5 * k + 3 * i) % self.LENGTH for i in range(4)]))

    @torch.no_grad()
    def after_hash(self):
        """init_weights: the key encoder and inter neck copy the online ones; the queue is its random start."""
        for q, k in [(self.encoder_q, self.encoder_k), (self.inter_neck_q, self.inter_neck_k)]:
            for pq, pk in zip(q.parameters(), k.parameters()):
                pk.data.copy_(pq.data)
        self.queue.copy_(self.queue_init)
        return {'queue': self.queue_init}

    @torch.no_grad()
    def momentum_update(self):
        for q, k in [(self.encoder_q, self.encoder_k), (self.inter_neck_q, self.inter_neck_k)]:
            for pq, pk in zip(q.parameters(), k.parameters()):
                pk.data = pk.data * self.M + pq.data * (1. - self.M)

    def contrast_intra(self, q, k):
        q = F.normalize(q, dim=1)
        k = F.normalize(k, dim=1)
        pos = torch.einsum('nc,nc->n', [q, k]).unsqueeze(-1)
        neg = torch.einsum('nc,ck->nk', [q, self.queue.clone().detach()])
        pos = pos - 0.1  # intra cosine margin
        return contrastive_head(pos, neg, 0.2)

    def sample(self, feat_norm, idx):
        mb = self.memory_bank
        pos_label = mb.label_bank[idx]
        pos_idx = []
        for l in pos_label:
            pool = torch.where(mb.label_bank == l)[0]
            pos_idx.append(pool[torch.randint(pool.size(0), (1,), generator=self.g)])
        pos_idx = torch.cat(pos_idx)
        similarity = torch.mm(feat_norm.detach(), mb.feature_bank.permute(1, 0))
        _, neg_I = torch.topk(similarity, self.POOL, dim=1)
        weights = torch.ones((len(idx), self.POOL))
        neg_idx = torch.gather(neg_I, 1, torch.multinomial(weights, self.NEG, generator=self.g))
        while True:
            wrong = mb.label_bank[neg_idx] == pos_label.unsqueeze(1)
            if wrong.sum().item() == 0:
                break
            neg_idx[wrong] = torch.gather(neg_I, 1, torch.multinomial(weights, self.NEG, generator=self.g))[wrong]
        return pos_idx, neg_idx

    def contrast_inter(self, q, idx, k):
        feat_norm = F.normalize(q, dim=1)
        bs, feat_dim = feat_norm.shape[:2]
        pos_idx, neg_idx = self.sample(feat_norm, idx)
        self.draws[f'pos_idx.{k}'] = pos_idx
        self.draws[f'neg_idx.{k}'] = neg_idx.flatten()
        pos_feat = torch.index_select(self.memory_bank.feature_bank, 0, pos_idx)
        neg_feat = torch.index_select(self.memory_bank.feature_bank, 0, neg_idx.flatten()).view(bs, self.NEG, feat_dim)
        pos = torch.einsum('nc,nc->n', [pos_feat, feat_norm]).unsqueeze(-1)
        neg = torch.bmm(neg_feat, feat_norm.unsqueeze(2)).squeeze(2)
        pos = pos - (-0.5)  # inter cosine margin
        return contrastive_head(pos, neg, 0.2)

    def forward_train(self, img, idx, **_):
        step = len(self.draws) // 2
        im_q, im_k = img
        q_b = self.encoder_q[0](im_q)
        q = self.encoder_q[1](q_b)[0]
        q2 = self.inter_neck_q(q_b)[0]
        with torch.no_grad():
            self.momentum_update()
            k_b = self.encoder_k[0](im_k)
            k = self.encoder_k[1](k_b)[0]
            k2 = self.inter_neck_k(k_b)[0]
        loss = 0.75 * self.contrast_intra(q, k) + 0.25 * self.contrast_inter(q2, idx, step)
        with torch.no_grad():
            keys = F.normalize(k, dim=1)
            self.queue[:, self.queue_ptr:self.queue_ptr + keys.shape[0]] = keys.transpose(0, 1)
            self.queue_ptr = (self.queue_ptr + keys.shape[0]) % self.QUEUE
            self.memory_bank.update_samples_memory(idx, k2.detach())
        return loss

    def extra(self):
        out = dict(self.draws)
        out['memory.init'] = self.memory_init
        out['memory.final'] = self.memory_bank.feature_bank
        out['labels.init'] = self.labels_init
        out['labels.final'] = self.memory_bank.label_bank
        out['centroids'] = self.memory_bank.centroids
        return out


# ---------------------------------------------------------------- the replay
# ssl and PyTorch round differently (~1e-6); a ReLU input closer to 0 than that can take the other
# side of the kink in ssl, and one flipped mask entry changes the gradient by percents. A fixture is
# only written when every ReLU input of step 0 is at least this far from 0.
RELU_MARGIN = 2e-6


def relu_margin(model):
    """Hooks every nn.ReLU; returns a list that collects min |input| of each forward."""
    seen = []
    for m in model.modules():
        if isinstance(m, nn.ReLU):
            m.register_forward_pre_hook(lambda _m, inp: seen.append(float(inp[0].detach().abs().min())))
    return seen


def write(name, model, out_dir):
    torch.manual_seed(0)
    fill_hash(model)
    # what the algorithm's __init__/init_weights sets after the weights (momentum encoders copy the
    # online ones, random queues): `init.<name>` entries the replay loads over the hashed weights
    tensors = {f'init.{k}': v.clone() for k, v in (model.after_hash() if hasattr(model, 'after_hash') else {}).items()}
    model.train()
    margins = relu_margin(model)
    o = getattr(model, 'optimizer', OPTIMIZER)
    params = [p for p in model.parameters() if p.requires_grad]
    if hasattr(model, 'make_optimizer'):
        opt = model.make_optimizer(params)
    elif o['type'] == 'AdamW':
        opt = torch.optim.AdamW(params, lr=o['lr'], weight_decay=o['weight_decay'])
    else:
        opt = torch.optim.SGD(params, lr=o['lr'], momentum=o['momentum'], weight_decay=o['weight_decay'])
    views = getattr(model, 'views', 1)
    shapes = getattr(model, 'view_shapes', [model.shape] * views)
    salt = getattr(model, 'salt', 1)
    # DistOptimizerHook's frozen_layers_cfg: the gradients of parameters whose name holds `layer` are dropped for `iters` steps
    frozen = getattr(model, 'optimizer_config', {}).get('frozen_layers_cfg', {})
    losses = []
    for k in range(STEPS):
        if hasattr(model, 'before_iter'):
            model.before_iter(k, STEPS)
        # view v of step k: step_input(k + 100 v) (the test computes the same)
        xs = [nchw(step_input(k + 100 * v, shapes[v], salt)) for v in range(views)]
        inputs = model.inputs(k)
        for key, v in inputs.items():
            tensors[f'{key}.{k}'] = v
        loss = model.forward_train(xs[0] if views == 1 else xs, **inputs)
        margin = min(margins, default=math.inf)
        margins.clear()
        print(f'{name} step {k}: min |ReLU input| {margin:.2e}')
        if k == 0 and margin < RELU_MARGIN:
            raise SystemExit(f'{name}: a ReLU input of step 0 is {margin:.1e} from 0 (< {RELU_MARGIN}): its gradient is not reproducible; change the inputs')
        opt.zero_grad()
        loss.backward()
        if k == 0:
            for n, p in model.named_parameters():
                if p.grad is not None:
                    tensors[f'grad.{n}'] = p.grad.clone()
        for layer, iters in frozen.items():
            if k < iters:
                for n, p in model.named_parameters():
                    if layer in n:
                        p.grad = None
        opt.step()
        if hasattr(model, 'after_iter'):
            model.after_iter(k, STEPS)
        losses.append(float(loss))
    tensors['loss'] = torch.tensor(losses)
    for n, t in model.state_dict().items():
        if t.dtype == torch.float32:
            tensors[f'final.{n}'] = t
    if hasattr(model, 'extra'):
        tensors.update(model.extra())
    tensors = {k: (v.to(torch.int64) if not v.is_floating_point() else v) for k, v in tensors.items()}
    meta = {'model': json.dumps(model.cfg), 'optimizer': json.dumps(o), 'shape': json.dumps(model.shape), 'views': str(views),
            'hooks': json.dumps(getattr(model, 'hooks', [])), 'steps': str(STEPS), 'salt': str(salt), 'torch': torch.__version__}
    for key in ('view_shapes', 'optimizer_config', 'epoch_length'):
        if hasattr(model, key):
            meta[key] = json.dumps(getattr(model, key))
    ref.save_safetensors(os.path.join(out_dir, f'algo-{name}.safetensors'), tensors, meta)
    print(name, 'losses', ' '.join(f'{v:.6f}' for v in losses))


def main():
    torch.set_num_threads(1)
    args = sys.argv[1:]
    out_dir = OUT
    if args[:1] == ['--out']:
        out_dir, args = args[1], args[2:]
    os.makedirs(out_dir, exist_ok=True)
    for name, cls in [('rotation-pred', RotationPred), ('relative-loc', RelativeLoc), ('npid', NPID), ('deepcluster', DeepCluster), ('odc', ODC), ('interclr', InterCLR)]:
        if not args or name in args:
            write(name, cls(), out_dir)


if __name__ == '__main__':
    sys.exit(main())
