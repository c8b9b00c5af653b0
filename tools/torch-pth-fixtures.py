#!/usr/bin/python3
"""PyTorch interop fixtures and checks for ssl's .pth reader/writer (issue 22).

    /usr/bin/python3 tools/torch-pth-fixtures.py            # writes test/fixtures/torch/pth/ (small, committed)
    /usr/bin/python3 tools/torch-pth-fixtures.py --check    # full-size checks against ssl (needs `npx tsc`; not committed)

Fixtures (all written by torch.save or Python's pickle, never by ssl):
- tv-resnet18-w4.pth: torchvision's ResNet code (its BasicBlock, _make_layer, names) at base width 4 instead of 64
  (the real resnet18 is 45 MB), seeded random weights and BN statistics, as a bare state dict with `fc`;
  tv-resnet18-w4.features.safetensors: input (NHWC) and layer4 output (NHWC) in eval mode.
- vit-tiny-mmselfsup.pth ({meta, state_dict} with backbone.*, MMSelfSup/mmcls names) and vit-tiny-timm.pth
  ({'model': ...} with timm names, as MMSelfSup's mmcls2timm.py writes them) of one small ViT;
  vit-tiny.features.safetensors: its patch map and class token.
- mocov2-mmselfsup.pth: MMSelfSup 0.x MoCo layout (encoder_q = Sequential(backbone, neck), encoder_k, backbone/neck
  aliases, queue, queue_ptr), the model of configs/selfsup/mocov2/mocov2_resnet18-cifar_1xb8-2it_synthetic.yaml at
  width 4 (MOCO_CFG_OPTIONS in test/runner/pth-resume.test.ts),
  with a torch.optim.SGD state after 2 steps and meta epoch=1, iter=2.
- dtypes.pth (+ dtypes.json): float32 / transposed (strided) / float16 / bfloat16 / int64 / uint8 / bool / 0-d / offset view;
  dtypes-bigendian.pth: the same with byteorder 'big' and swapped storages.
- hostile/: a pickle calling os.system, a zip member '../evil', a truncated file, a storage shorter than its claim,
  a tensor reaching past its storage, a 10 GB storage claim and a 4 GB zip-entry claim in small files, a legacy file.
"""
import collections
import importlib.util
import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile

import torch
import torch.nn as nn
import torchvision
from torchvision.models.resnet import BasicBlock, ResNet as TVResNet

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'torch', 'pth')

spec = importlib.util.spec_from_file_location('torch_reference', os.path.join(ROOT, 'tools', 'torch-reference.py'))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)


class NarrowTorchvisionResNet(TVResNet):
    """torchvision's ResNet with base width `w` instead of 64: its own BasicBlock/_make_layer/forward, same names."""

    def __init__(self, layers, w, num_classes=10):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes, self.dilation, self.groups, self.base_width = w, 1, 1, 64
        self.conv1 = nn.Conv2d(3, w, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(BasicBlock, w, layers[0])
        self.layer2 = self._make_layer(BasicBlock, 2 * w, layers[1], stride=2)
        self.layer3 = self._make_layer(BasicBlock, 4 * w, layers[2], stride=2)
        self.layer4 = self._make_layer(BasicBlock, 8 * w, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8 * w, num_classes)


def randomize(model, seed):
    """Seeded random weights, BN statistics and counters (default init leaves BN trivial)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            leaf = name.split('.')[-1]
            if t.dtype == torch.int64:
                t.fill_(7)
            elif leaf == 'running_var' or (leaf == 'weight' and t.dim() == 1):
                t.copy_(0.5 + torch.rand(t.shape, generator=g))
            elif leaf in ('running_mean', 'bias') or t.dim() == 1:
                t.copy_(0.1 * torch.randn(t.shape, generator=g))
            else:
                fan_in = t[0].numel() if t.dim() > 1 else 1
                t.copy_(torch.randn(t.shape, generator=g) * (2.0 / fan_in) ** 0.5)


def layer4_features(model, x):
    m = model
    y = m.maxpool(m.relu(m.bn1(m.conv1(x))))
    return m.layer4(m.layer3(m.layer2(m.layer1(y))))


def write_features(path, x, outs, config):
    tensors = {'input': ref.nhwc(x)}
    for i, o in enumerate(outs):
        if isinstance(o, tuple):
            tensors[f'output.{i}'], tensors[f'output.{i}.cls'] = o[0].contiguous(), o[1].contiguous()
        else:
            tensors[f'output.{i}'] = ref.nhwc(o).contiguous()
    ref.save_safetensors(path, tensors, {'config': json.dumps(config), 'torch': torch.__version__, 'torchvision': torchvision.__version__})


def resnet_fixture():
    model = NarrowTorchvisionResNet([2, 2, 2, 2], 4)
    randomize(model, 0)
    model.eval()
    torch.save(model.state_dict(), os.path.join(OUT, 'tv-resnet18-w4.pth'))
    x = torch.randn(2, 3, 48, 48, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        feats = layer4_features(model, x)
    write_features(os.path.join(OUT, 'tv-resnet18-w4.features.safetensors'), x, [feats],
                   dict(type='ResNet', depth=18, stem_channels=4, base_channels=4, out_indices=[4]))


def to_timm(sd):
    """MMSelfSup's tools/model_converters/mmcls2timm.py key rules (mmcls -> timm), on a backbone state dict."""
    out = collections.OrderedDict()
    for k, v in sd.items():
        k = k.replace('projection', 'proj').replace('ffn.layers.0.0', 'mlp.fc1').replace('ffn.layers.1', 'mlp.fc2')
        k = k.replace('layers', 'blocks').replace('ln', 'norm')
        out[k] = v
    out['norm.weight'], out['norm.bias'] = out.pop('norm1.weight'), out.pop('norm1.bias')
    return out


def vit_fixture():
    model = ref.VisionTransformer(32, 2, 4, 64, 16, 8)
    randomize(model, 2)
    model.eval()
    sd = model.state_dict()
    torch.save({'meta': {'epoch': 100, 'iter': 5000}, 'state_dict': collections.OrderedDict(('backbone.' + k, v) for k, v in sd.items())},
               os.path.join(OUT, 'vit-tiny-mmselfsup.pth'))
    timm = to_timm(sd)
    timm['head.weight'], timm['head.bias'] = torch.randn(10, 32), torch.zeros(10)
    torch.save({'model': timm}, os.path.join(OUT, 'vit-tiny-timm.pth'))
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        outs = model(x)
    config = dict(type='VisionTransformer', arch=dict(embed_dims=32, num_layers=2, num_heads=4, feedforward_channels=64), img_size=16, patch_size=8)
    write_features(os.path.join(OUT, 'vit-tiny.features.safetensors'), x, outs, config)


class MoCoV2Neck(nn.Module):
    def __init__(self, inc, hid, out):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(inc, hid), nn.ReLU(inplace=True), nn.Linear(hid, out))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))

    def forward(self, x):
        return self.mlp(self.avgpool(x[0]).flatten(1))


class MoCo(nn.Module):
    """MMSelfSup 0.x MoCo's module layout (mmselfsup/models/algorithms/moco.py): the state-dict names it saves."""

    def __init__(self, queue_len=32, feat_dim=16):
        super().__init__()
        self.encoder_q = nn.Sequential(ref.ResNet(18, stem_channels=4, base_channels=4, cifar=True), MoCoV2Neck(32, 32, 16))
        self.encoder_k = nn.Sequential(ref.ResNet(18, stem_channels=4, base_channels=4, cifar=True), MoCoV2Neck(32, 32, 16))
        self.backbone = self.encoder_q[0]
        self.neck = self.encoder_q[1]
        for p in self.encoder_k.parameters():
            p.requires_grad = False
        self.register_buffer('queue', nn.functional.normalize(torch.randn(feat_dim, queue_len), dim=0))
        self.register_buffer('queue_ptr', torch.zeros(1, dtype=torch.long))


def moco_fixture():
    torch.manual_seed(4)
    model = MoCo()
    randomize(model.encoder_q, 5)
    model.encoder_k.load_state_dict(model.encoder_q.state_dict())
    model.queue_ptr[0] = 16
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)  # mmcv's default constructor: one group
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(6))
    for _ in range(2):
        opt.zero_grad()
        model.encoder_q(x).pow(2).sum().backward()
        opt.step()
    meta = {'epoch': 1, 'iter': 2, 'mmcv_version': '1.7.0', 'time': 'Sat Dec  5 12:00:00 2026', 'seed': 0}
    torch.save({'meta': meta, 'state_dict': model.state_dict(), 'optimizer': opt.state_dict()}, os.path.join(OUT, 'mocov2-mmselfsup.pth'))


def dtypes_fixture():
    torch.manual_seed(7)
    w = torch.randn(3, 4)
    sd = collections.OrderedDict([
        ('f32', w), ('strided', torch.randn(4, 3).t()), ('f16', torch.randn(5).half()), ('bf16', torch.randn(5).bfloat16()),
        ('i64', torch.arange(-3, 3, dtype=torch.int64).reshape(2, 3)), ('u8', torch.tensor([0, 7, 255], dtype=torch.uint8)),
        ('bool', torch.tensor([True, False, True])), ('scalar', torch.tensor(42)), ('view', w[1, 1:]),
    ])
    path = os.path.join(OUT, 'dtypes.pth')
    torch.save(sd, path)
    with open(os.path.join(OUT, 'dtypes.json'), 'w') as f:
        json.dump({k: {'shape': list(v.shape), 'values': v.float().flatten().tolist()} for k, v in sd.items()}, f, indent=1)
    # the same file as a big-endian machine writes it
    rewrite_big_endian(path, os.path.join(OUT, 'dtypes-bigendian.pth'))


def rewrite_big_endian(src, dst):
    """Swaps every storage's bytes and marks the archive big-endian (storage element sizes from the pickle)."""
    sizes = {}

    class Peek(pickle.Unpickler):
        def persistent_load(self, pid):
            _, storage_type, key, _, _ = pid
            sizes[key] = torch.tensor([], dtype=storage_type(0).dtype).element_size()
            return storage_type(0)

        def find_class(self, module, name):
            if module == 'torch._utils' and name == '_rebuild_tensor_v2':
                return lambda *a: None
            return super().find_class(module, name)

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w', zipfile.ZIP_STORED) as zout:
        prefix = zin.namelist()[0].split('/')[0]
        Peek(io.BytesIO(zin.read(f'{prefix}/data.pkl'))).load()
        for name in zin.namelist():
            data = zin.read(name)
            if name.endswith('/byteorder'):
                data = b'big'
            elif '/data/' in name:
                n = sizes[name.rsplit('/', 1)[1]]
                data = b''.join(data[i:i + n][::-1] for i in range(0, len(data), n))
            zout.writestr(name, data)
        if f'{prefix}/byteorder' not in zin.namelist():
            zout.writestr(f'{prefix}/byteorder', b'big')


# ---------------------------------------------------------------- hostile files
class StorageRef:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class CraftedTensor:
    def __init__(self, storage, size, stride, offset=0):
        self.storage, self.size, self.stride, self.offset = storage, size, stride, offset

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, (self.storage, self.offset, self.size, self.stride, False, collections.OrderedDict()))


class CraftPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, StorageRef):
            return ('storage', torch.FloatStorage, obj.key, 'cpu', obj.numel)
        return None


def crafted_pth(path, obj, records):
    buf = io.BytesIO()
    CraftPickler(buf, protocol=2).dump(obj)
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as z:
        z.writestr('archive/data.pkl', buf.getvalue())
        for name, data in records.items():
            z.writestr(f'archive/{name}', data)
        z.writestr('archive/version', b'3\n')


class RunsCommand:
    def __reduce__(self):
        return (os.system, ('touch /tmp/ssl-pth-pwned',))


def hostile_fixtures():
    d = os.path.join(OUT, 'hostile')
    os.makedirs(d, exist_ok=True)
    good = os.path.join(d, '..', 'dtypes.pth')
    # a data.pkl that calls os.system when unpickled by pickle.load
    with zipfile.ZipFile(os.path.join(d, 'os-system.pth'), 'w', zipfile.ZIP_STORED) as z:
        z.writestr('archive/data.pkl', pickle.dumps({'state_dict': RunsCommand()}, protocol=2))
        z.writestr('archive/version', b'3\n')
    # a member whose name climbs out of the archive
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(os.path.join(d, 'path-traversal.pth'), 'w', zipfile.ZIP_STORED) as z:
        for name in zin.namelist():
            z.writestr(name, zin.read(name))
        z.writestr('../../evil.sh', b'#!/bin/sh\necho pwned\n')
    # cut in the middle
    data = open(good, 'rb').read()
    open(os.path.join(d, 'truncated.pth'), 'wb').write(data[:len(data) // 2])
    # storage record shorter than the storage it claims (10 floats, 16 bytes)
    s = StorageRef('0', 10)
    crafted_pth(os.path.join(d, 'short-storage.pth'), {'w': CraftedTensor(s, (10,), (1,))}, {'data/0': b'\0' * 16})
    # tensor reaching past its (complete) storage: 4 floats stored, shape 10
    s = StorageRef('0', 4)
    crafted_pth(os.path.join(d, 'tensor-past-storage.pth'), {'w': CraftedTensor(s, (10,), (1,))}, {'data/0': b'\0' * 16})
    # 10 GB claimed by the pickle in a tiny file
    s = StorageRef('0', 2_500_000_000)
    crafted_pth(os.path.join(d, 'claims-10gb.pth'), {'w': CraftedTensor(s, (50_000, 50_000), (50_000, 1))}, {'data/0': b'\0' * 16})
    # 4 GB claimed by the zip's central directory for a 16-byte stored member
    path = os.path.join(d, 'zip-claims-4gb.pth')
    s = StorageRef('0', 4)
    crafted_pth(path, {'w': CraftedTensor(s, (4,), (1,))}, {'data/0': b'\0' * 16})
    raw = bytearray(open(path, 'rb').read())
    pos = 0
    while True:
        pos = raw.find(b'PK\x01\x02', pos)
        if pos < 0:
            break
        nlen = struct.unpack_from('<H', raw, pos + 28)[0]
        if raw[pos + 46:pos + 46 + nlen].endswith(b'data/0'):
            struct.pack_into('<II', raw, pos + 20, 4_000_000_000, 4_000_000_000)
        pos += 46
    open(path, 'wb').write(bytes(raw))
    # PyTorch's legacy (before 1.6) format
    torch.save({'w': torch.ones(2)}, os.path.join(d, 'legacy.pth'), _use_new_zipfile_serialization=False)
    for f in sorted(os.listdir(d)):
        print(f'wrote hostile/{f} ({os.path.getsize(os.path.join(d, f))} bytes)')


# ---------------------------------------------------------------- full-size checks (not committed)
def node(*args):
    return subprocess.run(['node', os.path.join(ROOT, 'tools', 'pth-features.mjs'), *args], check=True, cwd=ROOT, capture_output=True, text=True).stderr


def read_outputs(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        a, b = v['data_offsets']
        out[k] = torch.frombuffer(bytearray(blob[a:b]), dtype={'F32': torch.float32}[v['dtype']]).reshape(v['shape'])
    return out


def rel_diff(got, want):
    """max |got - want| relative to the features' scale (a deep random ResNet's layer4 reaches hundreds; float32 sums round at ~1e-7 of that)."""
    return ((got - want).abs().max() / want.abs().max().clamp(min=1.0)).item()


def check():
    torch.set_num_threads(1)
    tmp = tempfile.mkdtemp(prefix='ssl-pth-check-')
    worst = 0.0
    try:
        for arch, depth in (('resnet18', 18), ('resnet50', 50)):
            # 1. torchvision -> ssl: torch.save'd torchvision weights loaded by ssl give PyTorch's features
            model = getattr(torchvision.models, arch)()
            randomize(model, 10)
            model.eval()
            pth = os.path.join(tmp, f'{arch}.pth')
            torch.save(model.state_dict(), pth)
            x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(11))
            with torch.no_grad():
                want = ref.nhwc(layer4_features(model, x))
            inp = os.path.join(tmp, 'input.safetensors')
            ref.save_safetensors(inp, {'input': ref.nhwc(x).contiguous()}, {})
            cfg = json.dumps(dict(type='ResNet', depth=depth, out_indices=[4]))
            log = node('features', cfg, pth, inp, os.path.join(tmp, 'ssl.safetensors'))
            got = read_outputs(os.path.join(tmp, 'ssl.safetensors'))['output.0']
            diff = rel_diff(got, want)
            worst = max(worst, diff)
            print(f'torchvision {arch} .pth ({os.path.getsize(pth) / 1e6:.1f} MB) -> ssl: layer4 max |diff| / max |feature| {diff:.2e} (max |feature| {want.abs().max().item():.1f}; {log.strip().splitlines()[-1]})')
            # 2. ssl -> PyTorch: an ssl checkpoint, `ssl model extract-backbone CKPT OUT.pth`, torch.load(weights_only=True),
            #    torchvision's load_state_dict(strict=True) (fc = Identity: a backbone has no classifier)
            ckpt = os.path.join(tmp, f'{arch}-ssl.ckpt')
            node('export', cfg, '12', inp, ckpt, os.path.join(tmp, 'ssl-export.safetensors'))
            out_pth = os.path.join(tmp, f'{arch}-backbone.pth')
            subprocess.run(['node', os.path.join(ROOT, 'bin', 'run.js'), 'model', 'extract-backbone', ckpt, out_pth], check=True, cwd=ROOT, capture_output=True)
            loaded = torch.load(out_pth, weights_only=True)
            tv = getattr(torchvision.models, arch)()
            tv.fc = nn.Identity()
            tv.load_state_dict(loaded['state_dict'], strict=True)
            tv.eval()
            assert loaded['state_dict']['bn1.num_batches_tracked'].dtype == torch.int64
            with torch.no_grad():
                torch_feats = ref.nhwc(layer4_features(tv, x))
            ssl_feats = read_outputs(os.path.join(tmp, 'ssl-export.safetensors'))['output.0']
            diff = rel_diff(ssl_feats, torch_feats)
            worst = max(worst, diff)
            print(f'ssl {arch} -> extract-backbone .pth -> torch.load(weights_only=True) + torchvision load_state_dict(strict=True): layer4 max |diff| / max |feature| {diff:.2e} (max |feature| {torch_feats.abs().max().item():.1f})')
    finally:
        shutil.rmtree(tmp)
    print(f'worst max |diff| / max |feature| {worst:.2e} ({"PASS" if worst <= 1e-4 else "FAIL"}: tolerance 1e-4)')
    return 0 if worst <= 1e-4 else 1


def main():
    if '--check' in sys.argv:
        return check()
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    resnet_fixture()
    vit_fixture()
    moco_fixture()
    dtypes_fixture()
    hostile_fixtures()
    for f in sorted(os.listdir(OUT)):
        if f.endswith('.pth'):
            print(f'wrote {f} ({os.path.getsize(os.path.join(OUT, f))} bytes)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
