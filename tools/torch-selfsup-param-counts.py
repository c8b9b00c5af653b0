#!/usr/bin/python3
"""Writes test/fixtures/torch/selfsup-param-counts.json: the parameter count of each part of MMSelfSup's
configs under selfsup/{swav,densecl,npid,odc,deepcluster,interclr,relative_loc,rotation_pred,mocov3},
counted as MMSelfSup's tools/analysis_tools/count_parameters.py does (sum(p.numel() for p in m.parameters()),
frozen ones included) on PyTorch modules built from the config's model dict as MMSelfSup resolves it
(../shared/data/mmselfsup-resolved/selfsup/<dir>/<file>.py.json). The modules are the PyTorch reference
ones of tools/torch-reference.py (ResNet, VisionTransformer), torch-algos-reference.py (Sobel, LinearNeck,
RelativeLocNeck, ODCNeck), torch-momentum-algos-reference.py (DenseCLNeck) and
torch-contrastive-algos-reference.py (NonLinearNeck, MoCoV2Neck); test/models/selfsup-param-counts.test.ts
compares ssl's `countModelParameters` parts with them.

Run where Debian's python3-torch is installed:  /usr/bin/python3 tools/torch-selfsup-param-counts.py
"""
import importlib.util
import json
import os

import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
RESOLVED = os.path.join(HERE, '..', '..', 'shared', 'data', 'mmselfsup-resolved', 'selfsup')
DIRS = ['swav', 'densecl', 'npid', 'odc', 'deepcluster', 'interclr', 'relative_loc', 'rotation_pred', 'mocov3']
OUT = os.path.join(HERE, '..', 'test', 'fixtures', 'torch', 'selfsup-param-counts.json')


def load(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, file))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


algos = load('torch_algos_reference', 'torch-algos-reference.py')
ref = algos.ref
momentum = load('torch_momentum_algos_reference', 'torch-momentum-algos-reference.py')
contrastive = load('torch_contrastive_algos_reference', 'torch-contrastive-algos-reference.py')
# MMSelfSup's VisionTransformer arch 'mocov3-small'
VIT_ARCHS = {'mocov3-small': dict(d=384, layers=12, heads=12, ff=1536)}


def backbone(c):
    if c['type'] == 'ResNet':
        return ref.ResNet(c['depth'], in_channels=c.get('in_channels', 3))
    if c['type'] == 'VisionTransformer':
        a = VIT_ARCHS[c['arch']]
        return ref.VisionTransformer(a['d'], a['layers'], a['heads'], a['ff'], c['img_size'], c['patch_size'])
    raise KeyError(c['type'])


def neck(c):
    t = c['type']
    if t == 'NonLinearNeck':
        keys = ['num_layers', 'with_bias', 'with_last_bn', 'with_last_bn_affine', 'with_last_bias', 'with_avg_pool']
        return contrastive.NonLinearNeck(c['in_channels'], c['hid_channels'], c['out_channels'], **{k: c[k] for k in keys if k in c})
    if t == 'MoCoV2Neck':
        return contrastive.MoCoV2Neck(c['in_channels'], c['hid_channels'], c['out_channels'])
    if t == 'DenseCLNeck':
        return momentum.DenseCLNeck(c['in_channels'], c['hid_channels'], c['out_channels'], c.get('num_grid'))
    if t == 'LinearNeck':
        return algos.LinearNeck(c['in_channels'], c['out_channels'])
    if t == 'RelativeLocNeck':
        return algos.RelativeLocNeck(c['in_channels'], c['out_channels'])
    if t == 'ODCNeck':
        return algos.ODCNeck(c['in_channels'], c['hid_channels'], c['out_channels'])
    if t == 'SwAVNeck':  # projection_neck: Linear, BN1d, ReLU, Linear (hid_channels > 0)
        return nn.Sequential(nn.Linear(c['in_channels'], c['hid_channels']), nn.BatchNorm1d(c['hid_channels']), nn.ReLU(),
                             nn.Linear(c['hid_channels'], c['out_channels']))
    if t == 'AvgPool2dNeck':
        return nn.Sequential()
    raise KeyError(t)


def head(c):
    t = c['type']
    if t == 'ContrastiveHead':
        return nn.Sequential()
    if t == 'ClsHead':
        return nn.Linear(c['in_channels'], c['num_classes'])
    if t == 'SwAVHead':  # prototypes
        return nn.Linear(c['feat_dim'], c.get('num_prototypes', 3000), bias=False)
    if t == 'MoCoV3Head':
        return neck(c['predictor'])
    raise KeyError(t)


def count(*modules):
    return sum(p.numel() for m in modules for p in m.parameters())


def parts(model):
    """The rows of `ssl model count-params`: `backbone` for every algorithm (as count_parameters.py), then
    the algorithm's top-level modules."""
    t = model['type']
    b = backbone(model['backbone'])
    out = {}
    # DeepCluster's with_sobel defaults to True (deepcluster_resnet50_* leaves it so), ODC's to False
    if model.get('with_sobel', t == 'DeepCluster'):
        out['sobel_layer'] = count(algos.Sobel())
    out['backbone'] = count(b)
    if t in ('MoCo', 'DenseCL', 'InterCLRMoCo'):
        enc = count(b, neck(model['neck']))
        out.update(encoder_q=enc, encoder_k=enc)
    elif t == 'MoCoV3':
        enc = count(b, neck(model['neck']))
        out.update(base_encoder=enc, momentum_encoder=enc)
    elif 'neck' in model:
        out['neck'] = count(neck(model['neck']))
    out['head'] = count(head(model['head']))
    return out


def main():
    result = {}
    for d in DIRS:
        for f in sorted(os.listdir(os.path.join(RESOLVED, d))):
            model = json.load(open(os.path.join(RESOLVED, d, f)))['model']
            result[f'{d}/{f[:-len(".json")]}'] = parts(model)
    tmp = OUT + '.tmp'
    with open(tmp, 'w') as fh:
        json.dump(result, fh, indent=1)
        fh.write('\n')
    os.replace(tmp, OUT)
    for k, v in result.items():
        print(k, v)


if __name__ == '__main__':
    main()
