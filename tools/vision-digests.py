#!/usr/bin/python3
"""Writes test/fixtures/data/vision-digests.json: SHA-256 digests of torchvision/PIL outputs on
large inputs, for ssl's jest tests of its fast transform kernels (bit-exact, not just within 1 grey level):
- the colour ops (brightness, contrast, saturation, hue, grayscale) on the full RGB cube (4096x4096
  image holding every 24-bit colour once: pixel k = (k & 255, (k >> 8) & 255, k >> 16));
- RandomResizedCrop boxes and GaussianBlur sigmas on a 375x500 image computed from integer formulas
  (`pattern` below; test/data/vision-digests.test.ts rebuilds it the same way).
Needs Debian's python3-torchvision and python3-pil. Run: /usr/bin/python3 tools/vision-digests.py
"""
import hashlib
import json
import os
import sys

import numpy as np
from PIL import Image, ImageFilter
import torchvision
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode as IM

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'data', 'vision-digests.json')


def digest(img):
    return hashlib.sha256(np.ascontiguousarray(np.asarray(img, dtype=np.uint8)).tobytes()).hexdigest()


def cube():
    k = np.arange(1 << 24, dtype=np.uint32)
    rgb = np.stack([k & 255, (k >> 8) & 255, k >> 16], -1).astype(np.uint8)
    return rgb.reshape(4096, 4096, 3)


def pattern(h=375, w=500):
    """Gradients, a disc, stripes and integer noise; every step is integer arithmetic."""
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    noise = lambda c: (x * 31 + y * 17 + c * 7 + ((x * y) % 13) * 5) % 29
    disc = (x - 300) ** 2 + (y - 160) ** 2 < 90 ** 2
    r = np.where(disc, 220, (x * 255) // (w - 1)) + noise(0) - 14
    g = (y * 200) // (h - 1) + ((x // 9) % 2) * 40 + noise(1) - 14
    b = 128 + ((x + 2 * y) % 97) - 48 + noise(2)
    return np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)


def main():
    c = Image.fromarray(cube(), 'RGB')
    colour = {}
    for f in (0.35, 1.0, 1.7):
        colour[f'brightness {f}'] = digest(F.adjust_brightness(c, f))
        colour[f'contrast {f}'] = digest(F.adjust_contrast(c, f))
        colour[f'saturation {f}'] = digest(F.adjust_saturation(c, f))
    for f in (0.0, 0.05, -0.13, 0.3, -0.5, 0.5):
        colour[f'hue {f}'] = digest(F.adjust_hue(c, f))
    colour['grayscale'] = digest(F.rgb_to_grayscale(c, 3))
    p = Image.fromarray(pattern(), 'RGB')
    spatial = {}
    interp = {'bilinear': IM.BILINEAR, 'bicubic': IM.BICUBIC, 'nearest': IM.NEAREST, 'lanczos': IM.LANCZOS}
    boxes = [((0, 0, 375, 500), 224, 'bilinear'), ((17, 41, 301, 377), 224, 'bilinear'), ((120, 200, 61, 83), 224, 'bilinear'),
             ((3, 250, 372, 249), 224, 'bilinear'), ((40, 40, 200, 150), 96, 'bicubic'), ((40, 40, 50, 70), 224, 'bicubic'),
             ((5, 6, 300, 310), 160, 'lanczos'), ((9, 9, 100, 130), 224, 'nearest')]
    for (i, j, h, w), size, mode in boxes:
        spatial[f'resized_crop {i} {j} {h} {w} {size} {mode}'] = digest(F.resized_crop(p, i, j, h, w, [size, size], interp[mode]))
    view = F.resized_crop(p, 17, 41, 301, 377, [224, 224], IM.BILINEAR)
    for sigma in (0.1, 0.37, 0.8, 1.0, 1.45, 2.0, 3.3, 9.0):
        spatial[f'blur {sigma}'] = digest(view.filter(ImageFilter.GaussianBlur(radius=sigma)))
    spatial['blur-full 1.2'] = digest(p.filter(ImageFilter.GaussianBlur(radius=1.2)))
    data = {'versions': {'torchvision': torchvision.__version__, 'PIL': Image.__version__}, 'pattern': digest(pattern()), 'colour': colour, 'spatial': spatial}
    with open(OUT, 'w') as f:
        json.dump(data, f, indent=1)
    print(f'wrote {len(colour) + len(spatial)} digests to {os.path.relpath(OUT)}', file=sys.stderr)


if __name__ == '__main__':
    main()
