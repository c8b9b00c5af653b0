#!/usr/bin/python3
"""Writes test/fixtures/data/vision-reference.json: torchvision/PIL outputs of each transform with
its randomness fixed (crop box, jitter factors, blur sigma, angle), for ssl's jest tests.

Needs Debian's python3-torchvision and python3-pil (apt-get install -y python3-torchvision python3-pil).
Run: /usr/bin/python3 tools/vision-reference.py
"""
import base64
import io
import json
import os
import sys

import numpy as np
from PIL import Image, ImageFilter
import torch
import torchvision
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode as IM

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'data', 'vision-reference.json')


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode('ascii')


def test_image(h=29, w=37):
    """Smooth gradients, hard edges, saturated and grey areas, and noise (seeded)."""
    rng = np.random.RandomState(0)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / (w - 1)
    g = 255 * y / (h - 1)
    b = 128 + 100 * np.sin(x / 3.0) * np.cos(y / 4.0)
    img = np.stack([r, g, b], -1)
    img[5:12, 8:20] = [250, 20, 30]
    img[15:25, 22:30] = [90, 90, 90]
    img += rng.normal(0, 12, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def case(name, op, params, out):
    arr = np.asarray(out)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    entry = {'name': name, 'op': op, 'params': params, 'shape': list(arr.shape)}
    if arr.dtype == np.uint8:
        entry['dtype'] = 'uint8'
    else:
        arr = arr.astype(np.float32)
        entry['dtype'] = 'float32'
    entry['expected'] = b64(arr)
    return entry


def main():
    src = test_image()
    pil = Image.fromarray(src, 'RGB')
    cases = []
    interp = {'nearest': IM.NEAREST, 'bilinear': IM.BILINEAR, 'bicubic': IM.BICUBIC, 'box': IM.BOX, 'hamming': IM.HAMMING, 'lanczos': IM.LANCZOS}
    for mode in interp:
        for size in ([15, 20], [60, 50], [29, 18]):
            out = F.resize(pil, size, interp[mode])
            cases.append(case(f'resize {mode} {size}', 'resize', {'size': size, 'interpolation': mode}, out))
    cases.append(case('Resize shorter edge 20', 'Resize', {'size': 20}, torchvision.transforms.Resize(20)(pil)))
    cases.append(case('Resize shorter edge 40 bicubic', 'Resize', {'size': 40, 'interpolation': 3}, torchvision.transforms.Resize(40, IM.BICUBIC)(pil)))
    for s in (20, [11, 30], 40):
        cases.append(case(f'CenterCrop {s}', 'CenterCrop', {'size': s}, torchvision.transforms.CenterCrop(s)(pil)))
    for (i, j, h, w), size, mode in [((3, 5, 20, 25), [16, 16], 'bilinear'), ((0, 0, 29, 37), [24, 24], 'bilinear'), ((10, 2, 9, 30), [32, 32], 'bicubic'), ((4, 4, 17, 13), [16, 16], 'nearest')]:
        out = F.resized_crop(pil, i, j, h, w, size, interp[mode])
        cases.append(case(f'RandomResizedCrop box {(i, j, h, w)} -> {size} {mode}', 'RandomResizedCrop', {'i': i, 'j': j, 'h': h, 'w': w, 'size': size, 'interpolation': mode}, out))
    for pad, fill, (i, j), size in [(4, 0, (0, 8), [29, 37]), ([2, 5], 7, (3, 1), [20, 30]), ([1, 2, 3, 4], 0, (6, 6), [16, 16])]:
        padded = F.pad(pil, pad, fill=fill)
        cases.append(case(f'RandomCrop padding {pad} fill {fill} at {(i, j)} size {size}', 'RandomCrop', {'padding': pad, 'fill': fill, 'i': i, 'j': j, 'size': size}, F.crop(padded, i, j, size[0], size[1])))
    cases.append(case('hflip', 'RandomHorizontalFlip', {}, F.hflip(pil)))
    for f in (0.6, 1.3, 1.9):
        cases.append(case(f'brightness {f}', 'brightness', {'factor': f}, F.adjust_brightness(pil, f)))
    for f in (0.4, 1.6):
        cases.append(case(f'contrast {f}', 'contrast', {'factor': f}, F.adjust_contrast(pil, f)))
    for f in (0.2, 1.7):
        cases.append(case(f'saturation {f}', 'saturation', {'factor': f}, F.adjust_saturation(pil, f)))
    for f in (0.1, -0.2, 0.45, -0.5):
        cases.append(case(f'hue {f}', 'hue', {'factor': f}, F.adjust_hue(pil, f)))
    # ColorJitter with its parameters fixed: the op order and the four factors.
    for order, b, c, s, hue in [([0, 1, 2, 3], 1.2, 0.7, 1.5, 0.05), ([3, 2, 1, 0], 0.5, 1.8, 0.4, -0.15), ([2, 0, 3, 1], 1.7, 1.1, 0.9, 0.2)]:
        img = pil
        for op in order:
            img = [lambda x: F.adjust_brightness(x, b), lambda x: F.adjust_contrast(x, c), lambda x: F.adjust_saturation(x, s), lambda x: F.adjust_hue(x, hue)][op](img)
        cases.append(case(f'ColorJitter order {order}', 'ColorJitter', {'order': order, 'brightness': b, 'contrast': c, 'saturation': s, 'hue': hue}, img))
    cases.append(case('grayscale', 'RandomGrayscale', {}, F.rgb_to_grayscale(pil, 3)))
    for sigma in (0.1, 0.5, 1.3, 2.0, 4.5):
        cases.append(case(f'GaussianBlur sigma {sigma}', 'GaussianBlur', {'sigma': sigma}, pil.filter(ImageFilter.GaussianBlur(radius=sigma))))
    sol = np.where(src < 128, src, 255 - src).astype(np.uint8)
    cases.append(case('Solarization 128', 'Solarization', {'threshold': 128}, sol))
    for angle, mode in [(30.0, 'nearest'), (-72.5, 'nearest'), (90.0, 'nearest'), (17.0, 'bilinear')]:
        cases.append(case(f'rotate {angle} {mode}', 'RandomRotation', {'angle': angle, 'interpolation': mode}, F.rotate(pil, angle, interp[mode])))
    t = F.normalize(F.to_tensor(pil), [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]).permute(1, 2, 0).numpy()
    cases.append(case('ToTensor + Normalize', 'ToTensorNormalize', {'mean': [0.485, 0.456, 0.406], 'std': [0.229, 0.224, 0.225]}, t))
    # JPEG decoding (PIL, as MMSelfSup data sources read files) and PNG.
    jpeg = io.BytesIO()
    Image.fromarray(test_image(40, 52), 'RGB').save(jpeg, format='JPEG', quality=85)
    decoded = np.asarray(Image.open(io.BytesIO(jpeg.getvalue())).convert('RGB'))
    data = {
        'versions': {'torchvision': torchvision.__version__, 'PIL': Image.__version__, 'torch': torch.__version__},
        'input': {'shape': list(src.shape), 'data': b64(src)},
        'jpeg': {'bytes': base64.b64encode(jpeg.getvalue()).decode('ascii'), 'shape': list(decoded.shape), 'decoded': b64(decoded)},
        'cases': cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(data, f, indent=0)
    print(f'wrote {len(cases)} cases to {os.path.relpath(OUT)}', file=sys.stderr)


if __name__ == '__main__':
    main()
