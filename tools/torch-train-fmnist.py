#!/usr/bin/python3
"""PyTorch reference training run of ssl's Fashion-MNIST recipes (benchmarks/README.md, "Training").

    /usr/bin/python3 tools/torch-train-fmnist.py [--algo simclr] [--config CONFIG] [--iters N] [--threads T]
        [--seed S] [--warmup W] [--knn] [--knn-bank 10000] [--knn-query 2000] [--cfg-options K=V ...]

The recipe is the ssl config itself: `node bin/run.js config show CONFIG --format json` (run `npx tsc`
first) resolves it, and this script builds from it the same data (Debian's dataset-fashion-mnist idx
files that ssl's FashionMNIST source reads), torchvision transforms equal to the config's pipeline, a
DataLoader of `samples_per_gpu` (shuffled, `drop_last`), the mmcls ResNet_CIFAR of tools/torch-reference.py
with MMSelfSup's init (Kaiming fan_out convs, BN 1/0), MMSelfSup 0.x's neck/head/forward_train, the
config's SGD (with `paramwise_options`) and lr schedule (mmcv CosineAnnealing/Step, by_epoch or per
iteration, linear warm-up). `--iters N` stops after N iterations; the schedule stays the config's.

Prints the mean loss of every `log_config.interval` iterations as it goes (stderr) and one JSON line at
the end (stdout): losses per logged interval, seconds, images/s over the iterations after the first
`--warmup` (default 5), and, with `--knn`, the weighted kNN top-1/top-5 of the random-init and trained
backbone (src/eval/knn.ts's protocol: eval mode, global average pool, L2-normalised, k and T from the
config's `knn`, ties to the lower class; bank/queries `--knn-bank`/`--knn-query` images evenly spaced over
the train/test split as ssl's SubsetDataset picks them, 0 = all).
"""
import argparse
import gzip
import importlib.util
import json
import math
import os
import random
import re
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageFilter, ImageOps
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def load_tool(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, file))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


ref = load_tool('torch_reference', 'torch-reference.py')
replay = load_tool('torch_train_replay', 'torch-train-replay.py')

DEFAULT_CONFIGS = {
    'simclr': 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb256-coslr-2e_fmnist.yaml',
}


def fail(msg):
    sys.stderr.write(f'torch-train-fmnist: {msg}\n')
    sys.exit(2)


def resolve_config(path, cfg_options):
    cmd = ['node', os.path.join(ROOT, 'bin', 'run.js'), 'config', 'show', path, '--format', 'json']
    if cfg_options:
        cmd += ['--cfg-options', *cfg_options]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        fail(f'could not resolve {path} with ssl (run `npx tsc -p tsconfig.json` first): {r.stderr.strip() or r.stdout.strip()}')
    return json.loads(r.stdout)


# ---------------------------------------------------------------- data (mmcls FashionMNIST, idx files)
def read_idx(prefix, stem):
    for name in (stem, stem + '.gz'):
        p = os.path.join(prefix, name)
        if os.path.exists(p):
            raw = gzip.open(p).read() if name.endswith('.gz') else open(p, 'rb').read()
            ndim = raw[3]
            dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
            return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)
    fail(f'{stem}[.gz] not found in {prefix} (install Debian\'s dataset-fashion-mnist)')


class FashionMNIST:
    def __init__(self, cfg):
        if cfg.get('type') not in ('FashionMNIST', 'MNIST'):
            fail(f'data_source {cfg.get("type")} is not covered (FashionMNIST / MNIST only)')
        if cfg.get('color_type', 'color') != 'grayscale':
            fail('only color_type: grayscale is covered')
        split = 't10k' if cfg.get('test_mode') else 'train'
        prefix = cfg.get('data_prefix', '/usr/share/datasets/fashion-mnist')
        self.images = read_idx(prefix, f'{split}-images-idx3-ubyte')
        self.labels = read_idx(prefix, f'{split}-labels-idx1-ubyte').astype(np.int64)

    def __len__(self):
        return len(self.labels)

    def image(self, i):
        return Image.fromarray(self.images[i], mode='L')


class MMGaussianBlur:
    """MMSelfSup GaussianBlur: PIL blur with radius ~ U(sigma_min, sigma_max), applied with probability p."""

    def __init__(self, sigma_min, sigma_max, p=0.5):
        self.sigma_min, self.sigma_max, self.p = sigma_min, sigma_max, p

    def __call__(self, img):
        if random.random() > self.p:
            return img
        return img.filter(ImageFilter.GaussianBlur(radius=random.uniform(self.sigma_min, self.sigma_max)))


class MMSolarization:
    def __init__(self, threshold=128, p=0.5):
        self.threshold, self.p = threshold, p

    def __call__(self, img):
        return ImageOps.solarize(img, self.threshold) if random.random() < self.p else img


def transform(t):
    kind = t['type']
    a = {k: v for k, v in t.items() if k != 'type'}
    if kind == 'RandomResizedCrop':
        return T.RandomResizedCrop(a['size'], scale=tuple(a.get('scale', (0.08, 1.0))), ratio=tuple(a.get('ratio', (3 / 4, 4 / 3))))
    if kind == 'RandomHorizontalFlip':
        return T.RandomHorizontalFlip(a.get('p', 0.5))
    if kind == 'RandomAppliedTrans':
        return T.RandomApply([transform(x) for x in a['transforms']], p=a.get('p', 0.5))
    if kind == 'ColorJitter':
        return T.ColorJitter(a.get('brightness', 0), a.get('contrast', 0), a.get('saturation', 0), a.get('hue', 0))
    if kind == 'RandomGrayscale':
        return T.RandomGrayscale(a.get('p', 0.1))
    if kind == 'GaussianBlur':
        return MMGaussianBlur(a['sigma_min'], a['sigma_max'], a.get('p', 0.5))
    if kind == 'Solarization':
        return MMSolarization(a.get('threshold', 128), a.get('p', 0.5))
    if kind == 'RandomCrop':
        return T.RandomCrop(a['size'], padding=a.get('padding'))
    if kind == 'Resize':
        return T.Resize(a['size'])
    if kind == 'CenterCrop':
        return T.CenterCrop(a['crop_size'] if 'crop_size' in a else a['size'])
    if kind == 'ToTensor':
        return T.ToTensor()
    if kind == 'Normalize':
        return T.Normalize(a['mean'], a['std'])
    fail(f'pipeline step {kind} is not covered')


def compose(steps):
    return T.Compose([transform(t) for t in steps])


def rotations(x):
    """MMSelfSup RotationPredDataset: 0, 90, 180, 270 degrees counter-clockwise of a CHW tensor."""
    return torch.stack([x, torch.flip(x.transpose(1, 2), [1]), torch.flip(x, [1, 2]), torch.flip(x, [1]).transpose(1, 2)])


class TrainSet(Dataset):
    """MMSelfSup's MultiViewDataset / SingleViewDataset / DeepClusterDataset / RotationPredDataset:
    items are dicts of `img` (a list of views) plus `idx` (clustering/memory algorithms) or `rot_label`."""

    def __init__(self, cfg):
        self.kind = cfg['type']
        self.source = FashionMNIST(cfg['data_source'])
        if self.kind == 'MultiViewDataset':
            self.pipes = []
            for n, p in zip(cfg['num_views'], cfg['pipelines']):
                self.pipes += [compose(p)] * n
        elif self.kind in ('SingleViewDataset', 'DeepClusterDataset', 'RotationPredDataset'):
            self.pipes = [compose(cfg['pipeline'])]
        else:
            fail(f'dataset {self.kind} is not covered')

    def __len__(self):
        return len(self.source)

    def __getitem__(self, i):
        img = self.source.image(i)
        views = [p(img) for p in self.pipes]
        if self.kind == 'RotationPredDataset':
            return dict(img=[rotations(views[0])], rot_label=torch.arange(4))
        return dict(img=views, idx=i)


# ---------------------------------------------------------------- model (MMSelfSup 0.x forward_train)
def mm_init(module):
    """mmcls ResNet init: Kaiming normal (fan_out, relu) convs, norm weight 1 and bias 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm)) and m.affine:
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)


def build_backbone(b):
    if b['type'] != 'ResNet_CIFAR':
        fail(f'backbone {b["type"]} is not covered (ResNet_CIFAR only)')
    if b.get('norm_cfg', {'type': 'BN'})['type'] != 'BN':
        fail('ResNet_CIFAR with norm_cfg BN only')
    net = ref.ResNet(b['depth'], in_channels=b.get('in_channels', 3), stem_channels=b.get('stem_channels', 64),
                     base_channels=b.get('base_channels', 64), out_indices=tuple(b.get('out_indices', [4])), cifar=True)
    mm_init(net)
    return net


def normal_linear_init(module, init_cfg):
    """MMSelfSup necks' init_cfg: Normal(std) on Linear layers (bias 0), Constant(1) on norms."""
    for c in init_cfg if isinstance(init_cfg, list) else [init_cfg]:
        layers = c.get('layer', [])
        layers = layers if isinstance(layers, list) else [layers]
        for m in module.modules():
            if c['type'] == 'Normal' and 'Linear' in layers and isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, c.get('std', 1))
                if m.bias is not None:
                    nn.init.constant_(m.bias, c.get('bias', 0))
            if c['type'] == 'Constant' and isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm)) and m.affine:
                nn.init.constant_(m.weight, c.get('val', 1))
                nn.init.constant_(m.bias, c.get('bias', 0))


class SimCLR(nn.Module):
    """MMSelfSup 0.x SimCLR: the views interleaved per sample through backbone + MoCoV2Neck/NonLinearNeck,
    NT-Xent (ContrastiveHead) over the 2N embeddings."""

    def __init__(self, m, dataset_len):
        super().__init__()
        self.backbone = build_backbone(m['backbone'])
        self.neck = replay.neck_of(m['neck'])
        if m['neck'].get('init_cfg'):
            normal_linear_init(self.neck, m['neck']['init_cfg'])
        self.temperature = m['head'].get('temperature', 0.1)

    def forward_train(self, data, it):
        x = torch.stack(data['img'], 1)
        x = x.reshape(-1, *x.shape[2:])
        return replay.nt_xent(self.neck(self.backbone(x)[-1]), self.temperature)


ALGORITHMS = {'SimCLR': SimCLR}


# ---------------------------------------------------------------- optimizer and schedule (mmcv)
def build_optimizer(model, o):
    if o['type'] != 'SGD':
        fail(f'optimizer {o["type"]} is not covered (SGD only)')
    base = dict(lr=o['lr'], momentum=o.get('momentum', 0), weight_decay=o.get('weight_decay', 0), nesterov=o.get('nesterov', False))
    rules = o.get('paramwise_options') or {}
    groups = []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        g = dict(base, params=[p])
        for pattern, opt in rules.items():
            if re.search(pattern, name):
                if 'lr_mult' in opt:
                    g['lr'] = base['lr'] * opt['lr_mult']
                if 'decay_mult' in opt:
                    g['weight_decay'] = base['weight_decay'] * opt['decay_mult']
                for k in ('momentum', 'weight_decay', 'lr'):
                    if k in opt:
                        g[k] = opt[k]
        g['initial_lr'] = g['lr']
        groups.append(g)
    return torch.optim.SGD(groups, lr=base['lr'], momentum=base['momentum'], weight_decay=base['weight_decay'], nesterov=base['nesterov'])


def lr_factor(lr_cfg, it, epoch, iters_per_epoch, max_iters, max_epochs):
    """mmcv LrUpdaterHook: the regular lr (cosine or step, per epoch or per iteration) times the warm-up factor."""
    by_epoch = lr_cfg.get('by_epoch', True)
    progress, total = (epoch, max_epochs) if by_epoch else (it, max_iters)
    policy = lr_cfg['policy'].lower()
    if policy == 'cosineannealing':
        if 'min_lr_ratio' in lr_cfg:
            lo = lr_cfg['min_lr_ratio']
            f = lo + 0.5 * (1 - lo) * (1 + math.cos(math.pi * progress / total))
            factor, floor = f, None
        else:
            factor = 0.5 * (1 + math.cos(math.pi * progress / total))
            floor = lr_cfg.get('min_lr', 0)
    elif policy == 'step':
        steps = lr_cfg['step'] if isinstance(lr_cfg['step'], list) else None
        n = sum(progress >= s for s in steps) if steps else progress // lr_cfg['step']
        factor, floor = lr_cfg.get('gamma', 0.1) ** n, None
    elif policy == 'fixed':
        factor, floor = 1.0, None
    else:
        fail(f'lr_config policy {lr_cfg["policy"]} is not covered')
    warm = 1.0
    if lr_cfg.get('warmup') and it < lr_cfg.get('warmup_iters', 0):
        w, n = lr_cfg.get('warmup_ratio', 0.1), lr_cfg['warmup_iters']
        if lr_cfg.get('warmup_by_epoch'):
            n *= iters_per_epoch
        if lr_cfg['warmup'] == 'linear':
            warm = 1 - (1 - it / n) * (1 - w)
        elif lr_cfg['warmup'] == 'constant':
            warm = w
        elif lr_cfg['warmup'] == 'exp':
            warm = w ** (1 - it / n)
    return factor, floor, warm


def set_lr(opt, lr_cfg, *progress):
    factor, floor, warm = lr_factor(lr_cfg, *progress)
    for g in opt.param_groups:
        lr = g['initial_lr'] * factor if floor is None else floor + (g['initial_lr'] - floor) * factor
        g['lr'] = lr * warm


# ---------------------------------------------------------------- kNN (src/eval/knn.ts)
def evenly_spaced(length, count):
    return list(range(length)) if count <= 0 or count >= length else [(i * length) // count for i in range(count)]


def knn_features(backbone, source, indices, pipeline, batch):
    was = backbone.training
    backbone.eval()
    feats, labels = [], []
    with torch.no_grad():
        for s in range(0, len(indices), batch):
            idx = indices[s:s + batch]
            x = torch.stack([pipeline(source.image(i)) for i in idx])
            f = F.adaptive_avg_pool2d(backbone(x)[-1], 1).flatten(1)
            feats.append(F.normalize(f, dim=1))
            labels.append(torch.from_numpy(source.labels[idx]))
    backbone.train(was)
    return torch.cat(feats), torch.cat(labels)


def knn_eval(backbone, cfg, n_bank, n_query):
    knn = cfg.get('knn') or {}
    if not (knn.get('train') and knn.get('val')):
        fail('the config has no knn.train / knn.val datasets')
    k, temp, bs = knn.get('k', 20), knn.get('temperature', 0.07), knn.get('samples_per_gpu', 256)
    t0 = time.perf_counter()
    out = []
    for part, n in (('train', n_bank), ('val', n_query)):
        d = knn[part]
        src = FashionMNIST(d['data_source'])
        out.append(knn_features(backbone, src, evenly_spaced(len(src), n), compose(d['pipeline']), bs))
    (bank, bank_y), (q, q_y) = out
    classes = int(max(bank_y.max(), q_y.max())) + 1
    kk = min(k, len(bank_y))
    top1 = top5 = 0
    for s in range(0, len(q_y), 256):
        sims, idx = (q[s:s + 256] @ bank.T).topk(kk, dim=1)
        votes = torch.zeros(len(sims), classes, dtype=torch.float64)
        votes.scatter_add_(1, bank_y[idx], torch.exp(sims.double() / temp))
        # descending votes, ties to the lower class (a stable sort of the negated votes)
        order = torch.sort(-votes, dim=1, stable=True).indices
        y = q_y[s:s + 256].unsqueeze(1)
        top1 += int((order[:, :1] == y).sum())
        top5 += int((order[:, :min(5, kk)] == y).any(dim=1).sum())
    n = len(q_y)
    return dict(k=k, temperature=temp, top1=100 * top1 / n, top5=100 * top5 / n, numTrain=len(bank_y), numVal=n,
                seconds=time.perf_counter() - t0)


# ---------------------------------------------------------------- training loop (mmcv runner)
def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--algo', default='simclr', choices=sorted(DEFAULT_CONFIGS))
    ap.add_argument('--config', help='ssl config (default: the algorithm\'s Fashion-MNIST recipe)')
    ap.add_argument('--iters', type=int, help='stop after N iterations (default: the config\'s whole run)')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--seed', type=int, help='default: the config\'s seed, else 0')
    ap.add_argument('--warmup', type=int, default=5, help='iterations left out of images/s')
    ap.add_argument('--knn', action='store_true', help='kNN top-1 of the random-init and the trained backbone')
    ap.add_argument('--knn-bank', type=int, default=10000, help='bank images, evenly spaced over train (0 = all 60k)')
    ap.add_argument('--knn-query', type=int, default=2000, help='query images, evenly spaced over test (0 = all 10k)')
    ap.add_argument('--cfg-options', nargs='*', default=[], help='passed to `ssl config show`')
    a = ap.parse_args()
    if a.threads < 1:
        fail('--threads must be at least 1')
    torch.set_num_threads(a.threads)
    config = a.config or DEFAULT_CONFIGS[a.algo]
    cfg = resolve_config(config, a.cfg_options)
    seed = a.seed if a.seed is not None else cfg.get('seed', 0) or 0
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)

    data = cfg['data']
    dataset = TrainSet(data['train'])
    batch = data['samples_per_gpu']
    loader = DataLoader(dataset, batch_size=batch, shuffle=True, drop_last=data.get('drop_last', True),
                        num_workers=data.get('workers_per_gpu', 0), generator=torch.Generator().manual_seed(seed))
    m = cfg['model']
    if m['type'] not in ALGORITHMS:
        fail(f'model {m["type"]} is not covered ({", ".join(ALGORITHMS)})')
    model = ALGORITHMS[m['type']](m, len(dataset))
    model.train()
    opt = build_optimizer(model, cfg['optimizer'])

    runner = cfg['runner']
    iters_per_epoch = len(loader)
    if runner['type'] == 'IterBasedRunner':
        max_iters = runner['max_iters']
        max_epochs = math.ceil(max_iters / iters_per_epoch)
    else:
        max_epochs = runner['max_epochs']
        max_iters = max_epochs * iters_per_epoch
    stop = min(a.iters or max_iters, max_iters)
    interval = (cfg.get('log_config') or {}).get('interval', 10)

    knn_random = knn_eval(model.backbone, cfg, a.knn_bank, a.knn_query) if a.knn else None
    if knn_random:
        sys.stderr.write(f'kNN random init: top-1 {knn_random["top1"]:.2f}\n')
    hooks = getattr(model, 'hooks', None)
    if hooks:
        hooks.before_run(model, dataset, cfg)
    losses, window, it, epoch = [], [], 0, 0
    t_start = t_warm = time.perf_counter()
    while it < stop:
        if hooks:
            hooks.before_epoch(model, epoch)
        for data_batch in loader:
            if it >= stop:
                break
            set_lr(opt, cfg['lr_config'], it, epoch, iters_per_epoch, max_iters, max_epochs)
            if hooks:
                hooks.before_iter(model, it)
            loss = model.forward_train(data_batch, it)
            opt.zero_grad()
            loss.backward()
            if hooks:
                hooks.after_backward(model, it)
            opt.step()
            if hooks:
                hooks.after_iter(model, it, data_batch)
            window.append(float(loss))
            it += 1
            if it == a.warmup:
                t_warm = time.perf_counter()
            if it % interval == 0 or it == stop:
                losses.append(dict(iter=it, loss=sum(window) / len(window)))
                sys.stderr.write(f'iter {it}/{stop} lr {opt.param_groups[0]["lr"]:.5f} loss {losses[-1]["loss"]:.4f}\n')
                window = []
        if hooks:
            hooks.after_epoch(model, epoch)
        epoch += 1
    t_end = time.perf_counter()
    timed = it - a.warmup if it > a.warmup else it
    summary = dict(algo=m['type'], config=config, seed=seed, threads=a.threads, batch=batch, iters=it,
                   losses=losses, seconds=t_end - t_start,
                   images_per_s=timed * batch / (t_end - (t_warm if it > a.warmup else t_start)),
                   warmup_iters=a.warmup if it > a.warmup else 0, torch=torch.__version__)
    if a.knn:
        summary['knn_random'] = knn_random
        summary['knn_trained'] = knn_eval(model.backbone, cfg, a.knn_bank, a.knn_query)
        sys.stderr.write(f'kNN trained: top-1 {summary["knn_trained"]["top1"]:.2f}\n')
    print(json.dumps(summary))


if __name__ == '__main__':
    main()
