"""Reference outputs of MMSelfSup's MultiPooling (torch AvgPool2d / AdaptiveAvgPool2d) for
test/analysis/tsne.test.ts: small NCHW inputs and the flattened pooled features, as JSON.

    /usr/bin/python3 tools/tsne-pooling-fixture.py > test/fixtures/tsne/multi-pooling.json
"""
import json

import torch
import torch.nn as nn

torch.manual_seed(0)
cases = []
# stage 0 (specified: kernel 10 stride 10 padding 4) on a 22x18 map; adaptive to 12 on a 13x15 map
# (windows overlap when the map is not a multiple of the grid); stage 4 adaptive to 2 on 5x5
for name, shape, pool in [
    ('specified-0', (2, 3, 22, 18), nn.AvgPool2d(kernel_size=10, stride=10, padding=4)),
    ('adaptive-0', (2, 2, 13, 15), nn.AdaptiveAvgPool2d(12)),
    ('adaptive-4', (1, 4, 5, 5), nn.AdaptiveAvgPool2d(2)),
    ('specified-4', (1, 3, 7, 7), nn.AvgPool2d(kernel_size=6, stride=1, padding=0)),
]:
    x = torch.randn(*shape)
    y = pool(x)
    cases.append({
        'name': name,
        'stage': int(name.split('-')[1]),
        'type': name.split('-')[0],
        'nchw': list(shape),
        'x': [round(v, 6) for v in x.flatten().tolist()],
        'flat': [round(v, 6) for v in y.view(y.size(0), -1).flatten().tolist()],
        'flat_dim': int(y.view(y.size(0), -1).size(1)),
    })
print(json.dumps({'torch': torch.__version__, 'cases': cases}))
