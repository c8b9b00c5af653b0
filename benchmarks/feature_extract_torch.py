"""PyTorch twin of benchmarks/feature-extract.ts: feature extraction as `with torch.no_grad(): model(x)` on the same
backbone (tools/torch-reference.py's MMSelfSup ResNet, eval mode) and global average pooling, over the same images in
the same batches, one command per stdin line so ssl and PyTorch alternate under the same load.

    python3 feature_extract_torch.py '{"workload": "fmnist-resnet18", "threads": 1, "images": 2048, "batch": 256}'
stdin: "run" | "run cpu" -> ms of one pass over all images (wall clock, or the process's CPU time)

fmnist-resnet18: the Fashion-MNIST ResNet_CIFAR (width 16, 1 channel, 28x28) on the first training images evenly spaced
as ssl's SubsetDataset picks them, normalised as the config (0.2860, 0.3530), held as one tensor (no data loader).
resnet50: ResNet-50 on random 224x224 RGB batches (the forward's cost does not depend on the pixels).
"""
import gzip
import importlib.util
import json
import os
import struct
import sys
import time

import numpy as np
import torch

cfg = json.loads(sys.argv[1])
torch.set_num_threads(cfg['threads'])
HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('ref', os.path.join(HERE, '..', 'tools', 'torch-reference.py'))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
torch.manual_seed(0)
n, batch = cfg['images'], cfg['batch']


def fmnist_images(count):
    root = '/usr/share/datasets/fashion-mnist'
    for p in (os.path.join(root, 'train-images-idx3-ubyte'), os.path.join(root, 'train-images-idx3-ubyte.gz')):
        if os.path.exists(p):
            raw = gzip.open(p).read() if p.endswith('.gz') else open(p, 'rb').read()
            dims = struct.unpack('>III', raw[4:16])
            imgs = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(dims)
            idx = [(i * dims[0]) // count for i in range(count)]
            x = torch.from_numpy(imgs[idx].astype(np.float32) / 255.0).unsqueeze(1)
            return (x - 0.2860) / 0.3530
    raise SystemExit(f'Fashion-MNIST not found in {root} (Debian dataset-fashion-mnist)')


W = cfg['workload']
if W == 'fmnist-resnet18':
    model = ref.ResNet(18, in_channels=1, stem_channels=16, base_channels=16, out_indices=(4,), cifar=True)
    x = fmnist_images(n)
elif W == 'resnet50':
    model = ref.ResNet(50, out_indices=(4,))
    x = torch.randn(n, 3, 224, 224)
else:
    raise SystemExit(f'unknown workload {W}')
if cfg.get('backbone'):
    sd = torch.load(cfg['backbone'], map_location='cpu')
    model.load_state_dict(sd.get('state_dict', sd), strict=True)
model.eval()


def extract():
    rows = []
    with torch.no_grad():
        for s in range(0, n, batch):
            out = model(x[s:s + batch])
            feat = out[-1] if isinstance(out, (list, tuple)) else out
            rows.append(feat.mean((2, 3)).numpy())
    return np.concatenate(rows)


print(json.dumps({'version': torch.__version__, 'threads': torch.get_num_threads(), 'dim': int(extract().shape[1])}), flush=True)
for line in sys.stdin:
    clock = time.process_time if 'cpu' in line.split()[1:] else time.perf_counter
    t0 = clock()
    extract()
    print((clock() - t0) * 1000, flush=True)
