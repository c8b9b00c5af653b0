#!/usr/bin/python3
"""PyTorch's own bf16 error, the yardstick for ssl's (benchmarks/bf16-fidelity.ts): for the initial
weights and batches that benchmarks/train-replay.ts wrote to DIR, the loss and gradients of batch k
in fp32 and under torch.autocast('cpu', dtype=torch.bfloat16): cosine and norm ratio of the whole
gradient, and the tensors with the largest relative error.
Usage: /usr/bin/python3 tools/torch-bf16-grads.py DIR 0,1,2"""
import importlib.util, json, os, sys, torch
spec = importlib.util.spec_from_file_location('ttr', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'torch-train-replay.py'))
ttr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ttr)
torch.set_num_threads(1)
d = sys.argv[1]
ks = [int(k) for k in sys.argv[2].split(',')] if len(sys.argv) > 2 else [0]
recipe = json.load(open(os.path.join(d, 'recipe.json'))); m = recipe['model']
batches = ttr.load_safetensors(os.path.join(d, 'batches.safetensors'))
init = ttr.load_safetensors(os.path.join(d, 'init.safetensors'))
for k in ks:
    gs = []
    for ac in (False, True):
        model = ttr.ALGORITHMS[m['type']](m); model.load_state_dict(init, strict=True); model.train()
        v1, v2 = (batches['b%d.v%d' % (k, i)].permute(0, 3, 1, 2) for i in (1, 2))
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=ac):
            loss = model.loss(v1, v2).float()
        loss.backward()
        gs.append((float(loss), torch.cat([p.grad.flatten().double() for p in model.parameters() if p.grad is not None]), {n: p.grad.double().clone() for n, p in model.named_parameters() if p.grad is not None}))
    (lf, gf, nf), (lb, gb, nb) = gs
    cos = float((gf @ gb) / (gf.norm() * gb.norm()))
    worst = sorted(((float((nb[n] - nf[n]).norm() / nf[n].norm()), n) for n in nf), reverse=True)[:4]
    print('batch %d (init weights): torch loss fp32 %.5f bf16 %.5f; grad cos %.5f norm bf16/fp32 %.4f; worst tensors %s' % (k, lf, lb, cos, float(gb.norm() / gf.norm()), worst), flush=True)
