#!/usr/bin/python3
"""PyTorch reference for `ssl eval linear` on Fashion-MNIST (issue 19): the same backbone weights, the same features,
the same linear protocol, in PyTorch 1.13.

1. Weights: the backbone `ssl model extract-backbone CKPT B.pth` wrote, loaded into tools/torch-reference.py's
   MMSelfSup ResNet (CIFAR stem) with strict=True.
2. Features: PyTorch's eval-mode features of the first --check images of each split (global average pool of the last
   stage, Normalize(0.2860, 0.3530) as the config) against the rows of ssl's feature cache (`ssl eval linear` writes
   WORK_DIR/eval/feature-cache/{train,val}-<key>.feat): max |difference|.
3. Protocol on ssl's cached features (configs/benchmarks/classification/fmnist/resnet18-cifar_linear-...yaml): ClsHead =
   Linear(128, 10) with Normal(std 0.01) weights and zero bias, cross-entropy, SGD(lr 0.5, momentum 0.9, wd 0), mmcv's
   CosineAnnealing by epoch (lr of epoch e = 0.5 * (1 + cos(pi e / E)) / 2 * ...), batch 256, shuffled each epoch,
   last batch kept; top-1/top-5 on the test split after the last epoch. The shuffle order and init draw are PyTorch's
   (seeds --seeds), so the reference is a spread over seeds, not one number.

    /usr/bin/python3 tools/linear-eval-reference.py --backbone B.pth --cache-dir DIR [--epochs 2] [--lr 0.5]
        [--batch 256] [--seeds 0,1,2,3,4] [--check 512] [--replay ORDER.json] [--ssl-top1 X] [--out FILE.json]

--replay takes what tools/linear-eval-order.mjs writes (ssl's initial head and its feature loader's batch order):
the head is then trained step for step as ssl trains it. The linear config's lr 0.5 on unnormalised features makes the
result depend strongly on the order and init (the seeds' spread below is several points), so only the replay is a
like-for-like comparison.
"""
import glob
import importlib.util
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
FMNIST = '/usr/share/datasets/fashion-mnist'


def flag(name, default=None):
    a = sys.argv[1:]
    return a[a.index(name) + 1] if name in a else default


def read_feat(path):
    """ssl's feature cache (src/eval/feature-cache.ts): u32 header length, JSON {n, rowShapes}, pad to 4, float32 rows, float32 labels."""
    buf = open(path, 'rb').read()
    hlen = struct.unpack('<I', buf[:4])[0]
    header = json.loads(buf[4:4 + hlen])
    off = 4 + hlen
    off += (4 - off % 4) % 4
    n = header['n']
    dim = int(np.prod(header['rowShapes'][0]))
    feats = np.frombuffer(buf, dtype='<f4', count=n * dim, offset=off).reshape(n, dim)
    labels = np.frombuffer(buf, dtype='<f4', count=n, offset=off + 4 * n * dim).astype(np.int64)
    return feats, labels


def read_idx(name):
    import gzip
    for p in (os.path.join(FMNIST, name), os.path.join(FMNIST, name + '.gz')):
        if os.path.exists(p):
            raw = gzip.open(p).read() if p.endswith('.gz') else open(p, 'rb').read()
            ndim = raw[3]
            dims = struct.unpack('>' + 'I' * ndim, raw[4:4 + 4 * ndim])
            return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)
    raise SystemExit(f'{name} not found in {FMNIST} (Debian dataset-fashion-mnist)')


def backbone(path):
    spec = importlib.util.spec_from_file_location('torch_reference', os.path.join(HERE, 'torch-reference.py'))
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    net = ref.ResNet(18, in_channels=1, stem_channels=16, base_channels=16, out_indices=(4,), cifar=True)
    sd = torch.load(path, map_location='cpu', weights_only=True)
    sd = sd.get('state_dict', sd)
    net.load_state_dict(sd, strict=True)
    return net.eval()


def torch_features(net, images):
    x = torch.from_numpy(images.astype(np.float32) / 255.0)[:, None]
    x = (x - 0.2860) / 0.3530
    with torch.no_grad():
        return net(x)[-1].mean(dim=(2, 3)).numpy()


def train_head(xtr, ytr, xte, yte, seed, epochs, lr, batch, replay=None):
    torch.manual_seed(seed)
    head = nn.Linear(xtr.shape[1], 10)
    nn.init.normal_(head.weight, 0, 0.01)
    nn.init.zeros_(head.bias)
    if replay is not None:
        # ssl's own initial head (in x out there, out x in here) and batch order: a step-for-step replay
        w = replay['head']['fc_cls.weight']
        head.weight.data = torch.tensor(w['data'], dtype=torch.float32).reshape(w['shape']).t().contiguous()
        head.bias.data = torch.tensor(replay['head']['fc_cls.bias']['data'], dtype=torch.float32)
    opt = torch.optim.SGD(head.parameters(), lr=lr, momentum=0.9, weight_decay=0.0)
    xtr_t, ytr_t = torch.from_numpy(np.array(xtr)), torch.from_numpy(ytr)
    g = torch.Generator().manual_seed(seed)
    for e in range(epochs):
        for group in opt.param_groups:
            group['lr'] = 0.5 * lr * (1 + math.cos(math.pi * e / epochs))  # mmcv CosineAnnealing, by_epoch, min_lr 0
        order = torch.tensor(replay['orders'][e]) if replay is not None else torch.randperm(len(xtr_t), generator=g)
        losses = []
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            loss = F.cross_entropy(head(xtr_t[idx]), ytr_t[idx])
            losses.append(float(loss))
            opt.zero_grad()
            loss.backward()
            opt.step()
        if replay is not None:
            print(f'replay epoch {e + 1}: mean loss {np.mean(losses):.4f} (first {losses[0]:.4f}, then {", ".join(f"{x:.3f}" for x in losses[1:6])})')
    with torch.no_grad():
        scores = head(torch.from_numpy(np.ascontiguousarray(xte)))
    top5 = scores.topk(5, dim=1).indices.numpy()
    return 100 * float((top5[:, 0] == yte).mean()), 100 * float((top5 == yte[:, None]).any(axis=1).mean())


def main():
    cache = flag('--cache-dir')
    bb = flag('--backbone')
    epochs, lr, batch = int(flag('--epochs', '2')), float(flag('--lr', '0.5')), int(flag('--batch', '256'))
    seeds = [int(s) for s in flag('--seeds', '0,1,2,3,4').split(',')]
    check = int(flag('--check', '512'))
    torch.set_num_threads(int(flag('--threads', '1')))
    train_path = glob.glob(os.path.join(cache, 'train-*.feat'))
    val_path = glob.glob(os.path.join(cache, 'val-*.feat'))
    if len(train_path) != 1 or len(val_path) != 1:
        raise SystemExit(f'{cache} must hold one train-*.feat and one val-*.feat (ssl eval linear writes them)')
    xtr, ytr = read_feat(train_path[0])
    xte, yte = read_feat(val_path[0])
    out = {'train': len(xtr), 'test': len(xte), 'dim': xtr.shape[1]}
    if bb:
        net = backbone(bb)
        diffs = {}
        for split, feats, labels, stem in (('train', xtr, ytr, 'train'), ('val', xte, yte, 't10k')):
            all_imgs = read_idx(f'{stem}-images-idx3-ubyte')
            # a SubsetDataset cache holds num_samples evenly spaced images: floor(i * N / n)
            idx = (np.arange(check) * len(all_imgs)) // len(feats)
            imgs = all_imgs[idx]
            lab = read_idx(f'{stem}-labels-idx1-ubyte')[idx].astype(np.int64)
            tf = torch_features(net, imgs)
            assert (lab == labels[:check]).all(), f'{split}: the cache is not in the data set order'
            diffs[split] = float(np.abs(tf - feats[:check]).max())
            print(f'{split}: PyTorch features of the first {check} images vs ssl cache: max |diff| {diffs[split]:.2e} (feature scale {np.abs(tf).max():.2f})')
        out['feature_max_abs_diff'] = diffs
    rows = []
    for s in seeds:
        t0 = time.time()
        top1, top5 = train_head(xtr, ytr, xte, yte, s, epochs, lr, batch)
        rows.append({'seed': s, 'top1': top1, 'top5': top5, 'seconds': time.time() - t0})
        print(f'seed {s}: top-1 {top1:.2f}, top-5 {top5:.2f} ({time.time() - t0:.1f} s)')
    if flag('--replay'):
        replay = json.load(open(flag('--replay')))
        top1, top5 = train_head(xtr, ytr, xte, yte, 0, epochs, lr, batch, replay)
        out['replay'] = {'top1': top1, 'top5': top5}
        print(f'replay of ssl\'s initial head and batch order: top-1 {top1:.2f}, top-5 {top5:.2f}')
        if flag('--ssl-top1') is not None:
            print(f"ssl top-1 {float(flag('--ssl-top1')):.2f}: {float(flag('--ssl-top1')) - top1:+.2f} points from the replay (bound 0.5)")
    t1 = [r['top1'] for r in rows]
    out.update({'rows': rows, 'top1_mean': float(np.mean(t1)), 'top1_std': float(np.std(t1)), 'top1_median': float(np.median(t1))})
    print(f'PyTorch linear head on ssl\'s features: top-1 {np.mean(t1):.2f} ± {np.std(t1):.2f} over seeds {seeds} (median {np.median(t1):.2f})')
    ssl_top1 = flag('--ssl-top1')
    if ssl_top1 is not None:
        d = float(ssl_top1) - float(np.median(t1))
        out['ssl_top1'] = float(ssl_top1)
        out['diff_vs_median'] = d
        print(f'ssl top-1 {float(ssl_top1):.2f}: {d:+.2f} points from the PyTorch median (bound 0.5)')
    if flag('--out'):
        json.dump(out, open(flag('--out'), 'w'), indent=2)


if __name__ == '__main__':
    main()
