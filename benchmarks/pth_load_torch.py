#!/usr/bin/python3
"""PyTorch's side of benchmarks/pth-load.ts (Debian python3-torch/torchvision).

    pth_load_torch.py write FILE   # torchvision resnet50, seeded random weights, torch.save
    pth_load_torch.py read FILE    # prints ms of torch.load(FILE, weights_only=True)
    pth_load_torch.py model FILE   # prints ms of torch.load(weights_only=True) + resnet50().load_state_dict(strict=True)
"""
import sys
import time

import torch
import torchvision


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    if cmd == 'write':
        torch.manual_seed(0)
        model = torchvision.models.resnet50()
        with torch.no_grad():
            for t in model.state_dict().values():
                if t.is_floating_point():
                    t.normal_(0, 0.05)
        torch.save(model.state_dict(), path)
        return 0
    model = torchvision.models.resnet50() if cmd == 'model' else None
    with open(path, 'rb') as f:
        f.read()  # warm the page cache as the ssl side does
    t0 = time.perf_counter()
    sd = torch.load(path, weights_only=True)
    if model is not None:
        model.load_state_dict(sd, strict=True)
    print((time.perf_counter() - t0) * 1000)
    return 0


if __name__ == '__main__':
    sys.exit(main())
