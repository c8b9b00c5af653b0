"""PyTorch twin of benchmarks/engine-model.ts: the same workloads (tools/torch-reference.py's modules),
timed one command per stdin line so the TF.js engines and PyTorch alternate under the same load.

    python3 engine_torch.py '{"workload": "resnet18-cifar", "threads": 1, "channels_last": false}'
stdin: "fwd" | "step" | "layer CIN COUT STRIDE HW N" (conv 3x3 pad 1: forward, input grad, filter grad ms)
"""
import importlib.util, json, os, sys, time
import torch, torch.nn as nn

cfg = json.loads(sys.argv[1])
torch.set_num_threads(cfg['threads'])
spec = importlib.util.spec_from_file_location('ref', os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tools', 'torch-reference.py'))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
fmt = torch.channels_last if cfg['channels_last'] else torch.contiguous_format
torch.manual_seed(0)

def load_tool(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tools', file))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


W = cfg['workload']
algorithm = None  # a whole self-supervised step (its own loss) instead of backbone + classifier
if W == 'resnet18-cifar':
    model, feat, shape = ref.ResNet(18, cifar=True), 512, (64, 3, 32, 32)
elif W == 'resnet18-narrow':
    model, feat, shape = ref.ResNet(18, in_channels=1, stem_channels=16, base_channels=16, cifar=True), 128, (512, 1, 28, 28)
elif W == 'resnet50':
    model, feat, shape = ref.ResNet(50), 2048, (8, 3, 224, 224)
elif W == 'vit-tiny':
    model, feat, shape = ref.VisionTransformer(192, 12, 3, 768, 224, 16), 192, (8, 3, 224, 224)
elif W == 'swin-tiny':
    simmim_ref = load_tool('simmim_ref', 'torch-simmim-reference.py')
    swin = simmim_ref.SimMIMSwinTransformer({'arch': {'embed_dims': 96, 'depths': [2, 2, 6, 2], 'num_heads': [3, 6, 12, 24]}, 'img_size': 192,
                                             'out_indices': [3], 'stage_cfgs': {'block_cfgs': {'window_size': 6}}})
    # mmcls's SwinTransformer forward: SimMIM's with nothing masked (one multiply-add on the patch tokens more)
    model = nn.Sequential(swin)
    model.forward = lambda t: swin(t, torch.zeros(t.shape[0], 48, 48))
    feat, shape = 768, (8, 3, 192, 192)
elif W == 'mae-vit-tiny':
    # benchmarks/engine-model.ts's MAE_VIT_TINY_32: MMSelfSup's MAE forward_train (tools/torch-mim-reference.py)
    mim_ref = load_tool('mim_ref', 'torch-mim-reference.py')
    algorithm = mim_ref.MAE({
        'backbone': {'arch': {'embed_dims': 192, 'num_layers': 12, 'num_heads': 3, 'feedforward_channels': 768}, 'img_size': 32, 'patch_size': 4, 'mask_ratio': 0.75},
        'neck': {'patch_size': 4, 'in_chans': 3, 'embed_dim': 192, 'decoder_embed_dim': 192, 'decoder_depth': 4, 'decoder_num_heads': 3, 'mlp_ratio': 4},
        'head': {'norm_pix': True, 'patch_size': 4}})
    model, feat, shape = algorithm, 0, (32, 3, 32, 32)
    noise = torch.rand(32, 64)
else:
    raise SystemExit(f'unknown workload {W}')
fc = nn.Linear(max(feat, 1), 10)
model = model.to(memory_format=fmt)
x = torch.randn(*shape).to(memory_format=fmt)
y = torch.arange(shape[0]) % 10
trained = [p for p in list(model.parameters()) + ([] if algorithm else list(fc.parameters())) if p.requires_grad]
opt = torch.optim.SGD(trained, lr=0.01)


def loss():
    if algorithm:
        return algorithm.forward_train(x, noise)
    out = model(x)[-1]
    return nn.functional.cross_entropy(fc(out[1] if isinstance(out, tuple) else out.mean((2, 3))), y)


def fwd():
    with torch.no_grad():
        loss()


def step():
    opt.zero_grad()
    loss().backward()
    opt.step()


def layer(cin, cout, stride, hw, n):
    a = torch.randn(n, cin, hw, hw).to(memory_format=fmt)
    w = torch.randn(cout, cin, 3, 3).to(memory_format=fmt)
    out = torch.nn.functional.conv2d(a, w, None, stride, 1)
    dy = torch.randn_like(out)

    def med(f):
        f()
        ts = []
        for _ in range(5):
            t0 = time.perf_counter(); f(); ts.append((time.perf_counter() - t0) * 1000)
        return sorted(ts)[2]
    bwd = lambda mask: torch.ops.aten.convolution_backward(dy, a, w, None, [stride] * 2, [1, 1], [1, 1], False, [0, 0], 1, mask)
    return [med(lambda: torch.nn.functional.conv2d(a, w, None, stride, 1)), med(lambda: bwd([True, False, False])), med(lambda: bwd([False, True, False]))]


print(json.dumps({'version': torch.__version__, 'threads': torch.get_num_threads()}), flush=True)
for line in sys.stdin:
    cmd = line.split()
    if cmd[0] == 'layer':
        print(json.dumps(layer(*map(int, cmd[1:]))), flush=True)
        continue
    fn = fwd if cmd[0] == 'fwd' else step
    clock = time.process_time if 'cpu' in cmd[1:] else time.perf_counter  # 'step cpu': the process's CPU time
    t0 = clock(); fn(); print((clock() - t0) * 1000, flush=True)
