#!/usr/bin/python3
"""torchvision + PIL side of `npm run bench:data`: the SimCLR ImageNet pipeline (MMSelfSup 0.x
imagenet_simclr + flip) over the same JPEG folder, two views per image, with a torch DataLoader.
Usage: data_torchvision.py FOLDER BATCH BATCHES WORKERS...   Prints one JSON line per worker count.
       data_torchvision.py --profile FOLDER   ms per view of the whole pipeline in this process (the
       counterpart of lib/benchmarks/data-profile.js).
"""
import json
import os
import sys
import time

import numpy as np
import torch
from PIL import Image, ImageFilter
from torchvision import transforms as T


class GaussianBlur:
    """MMSelfSup 0.x GaussianBlur(sigma_min, sigma_max, p)."""

    def __init__(self, sigma_min, sigma_max, p=0.5):
        self.sigma_min, self.sigma_max, self.p = sigma_min, sigma_max, p

    def __call__(self, img):
        if np.random.rand() > self.p:
            return img
        return img.filter(ImageFilter.GaussianBlur(radius=np.random.uniform(self.sigma_min, self.sigma_max)))


class TwoViews(torch.utils.data.Dataset):
    def __init__(self, folder):
        self.files = sorted(os.path.join(folder, f) for f in os.listdir(folder))
        self.pipe = T.Compose([
            T.RandomResizedCrop(224),
            T.RandomApply([T.ColorJitter(0.8, 0.8, 0.8, 0.2)], p=0.8),
            T.RandomGrayscale(p=0.2),
            GaussianBlur(0.1, 2.0, p=0.5),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        ])

    def __len__(self):
        return 10 ** 6

    def __getitem__(self, i):
        img = Image.open(self.files[i % len(self.files)]).convert('RGB')
        return self.pipe(img), self.pipe(img)


def profile(folder):
    torch.set_num_threads(1)
    ds = TwoViews(folder)
    imgs = [Image.open(f).convert('RGB') for f in ds.files]
    for v in range(50):
        ds.pipe(imgs[v % len(imgs)])
    t0 = time.perf_counter()
    for v in range(400):
        ds.pipe(imgs[v % len(imgs)])
    print(f'whole pipeline {(time.perf_counter() - t0) / 400 * 1e3:.3f} ms/view')
    t0 = time.perf_counter()
    for f in ds.files * 4:
        Image.open(f).convert('RGB')
    print(f'decode {(time.perf_counter() - t0) / (4 * len(ds.files)) * 1e3:.3f} ms/image')


def main():
    if sys.argv[1] == '--profile':
        return profile(sys.argv[2])
    folder, batch, batches = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(1)
    for workers in map(int, sys.argv[4:]):
        loader = torch.utils.data.DataLoader(TwoViews(folder), batch_size=batch, num_workers=workers, shuffle=True,
                                             drop_last=True, persistent_workers=False, prefetch_factor=2)
        it = iter(loader)
        next(it)  # start-up: workers spawn, first batch
        t0 = time.perf_counter()
        for _ in range(batches):
            next(it)
        dt = time.perf_counter() - t0
        print(json.dumps({'workers': workers, 'images_per_s': batch * batches / dt, 'seconds': dt}), flush=True)
        del it, loader


if __name__ == '__main__':
    main()
