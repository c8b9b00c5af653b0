"""Reference for ssl's MultiPooling (MMSelfSup's resnet50 table) and the NCHW flatten order of MultiClsHead.

Inputs are generated from a formula both sides compute (x[n, c, h, w] = sin(0.37 * flat_index + stage)), so the
fixture holds outputs only. Writes test/fixtures/torch/multi-pooling.json.

    /usr/bin/python3 tools/multi-pooling-reference.py
"""
import json
import math

import torch
import torch.nn as nn

POOL_PARAMS = [dict(kernel_size=10, stride=10, padding=4), dict(kernel_size=16, stride=8, padding=0),
               dict(kernel_size=13, stride=5, padding=0), dict(kernel_size=8, stride=3, padding=0),
               dict(kernel_size=6, stride=1, padding=0)]
POOL_SIZES = [12, 6, 4, 3, 2]
SPATIAL = [112, 56, 28, 14, 7]  # ResNet-50 stem and stages at 224x224
CHANNELS = 2


def stage_input(stage):
    n = CHANNELS * SPATIAL[stage] ** 2
    flat = torch.tensor([math.sin(0.37 * i + stage) for i in range(n)], dtype=torch.float64)
    return flat.view(1, CHANNELS, SPATIAL[stage], SPATIAL[stage])


out = {'channels': CHANNELS, 'spatial': SPATIAL, 'specified': [], 'adaptive': []}
for stage in range(5):
    x = stage_input(stage)
    spec = nn.AvgPool2d(**POOL_PARAMS[stage])(x)
    adap = nn.AdaptiveAvgPool2d(POOL_SIZES[stage])(x)
    # MultiClsHead flattens NCHW with view(N, -1): the order ssl's flattenChw must reproduce
    out['specified'].append({'shape': list(spec.shape), 'flat': [round(v, 7) for v in spec.reshape(-1).tolist()]})
    out['adaptive'].append({'shape': list(adap.shape), 'flat': [round(v, 7) for v in adap.reshape(-1).tolist()]})

with open('test/fixtures/torch/multi-pooling.json', 'w') as f:
    json.dump(out, f)
print('wrote test/fixtures/torch/multi-pooling.json')
