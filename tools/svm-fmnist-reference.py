#!/usr/bin/python3
"""scikit-learn's side of `ssl eval svm` on real features: reads what `ssl eval svm --save-features` wrote
(WORK_DIR/eval/svm/{trainval,test}_{feat,targets}.npy) and ssl's result (WORK_DIR/eval/svm.json), runs MMSelfSup's
VOC07 SVM protocol with LinearSVC on the same features, and prints per-class test AP of both and their differences.

Protocol (MMSelfSup tools/benchmarks/classification/svm_voc07, as tools/svm-reference.py): rows / (||row|| + 1e-5);
costs = given + 0.5^4..0.5^19; per class LinearSVC(C, class_weight={1: 2, -1: 1}, squared hinge, dual, tol 1e-4,
max_iter 2000) scored by cross_val_score(cv=3, scoring='average_precision'); the best cost refits on all of train;
test AP = area under the monotone precision/recall curve (VOC07 'area' AP, difficult rows left out).

    /usr/bin/python3 tools/svm-fmnist-reference.py WORK_DIR [--out FILE.json] [--ssl-log LOG] [--classes N]
"""
import json
import os
import sys
import time

import numpy as np
from sklearn.model_selection import cross_val_score
from sklearn.svm import LinearSVC


def voc_ap(targets, scores):
    """FAIR's get_precision_recall + area AP (svm_helper.py), difficult (-1) rows removed."""
    keep = targets != -1
    t, s = targets[keep], scores[keep]
    order = np.argsort(-s, kind='stable')
    tp = (t[order] == 1).astype(np.float64)
    fp = 1 - tp
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    npos = max(1.0, float((t == 1).sum()))
    rec = tp / npos
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def main():
    args = sys.argv[1:]
    work = args[0]
    out = args[args.index('--out') + 1] if '--out' in args else None
    d = os.path.join(work, 'eval', 'svm')
    xtr, ttr = np.load(os.path.join(d, 'trainval_feat.npy')).astype(np.float64), np.load(os.path.join(d, 'trainval_targets.npy'))
    xte, tte = np.load(os.path.join(d, 'test_feat.npy')).astype(np.float64), np.load(os.path.join(d, 'test_targets.npy'))
    xtr /= np.linalg.norm(xtr, axis=1, keepdims=True) + 1e-5
    xte /= np.linalg.norm(xte, axis=1, keepdims=True) + 1e-5
    res = os.path.join(work, 'eval', 'svm.json')
    given = json.load(open(res))['costs'] if os.path.exists(res) else [1.0, 10.0, 100.0]
    costs = list(given) + [0.5 ** k for k in range(4, 20)]
    t0 = time.time()
    rows = []
    only = int(args[args.index('--classes') + 1]) if '--classes' in args else ttr.shape[1]
    for c in range(only):
        y = ttr[:, c].copy()
        y[y == 0] = -1
        keep = y != -1 if (ttr[:, c] == -1).any() else np.ones(len(y), bool)
        cv = []
        for cost in costs:
            clf = LinearSVC(C=cost, class_weight={1: 2, -1: 1}, intercept_scaling=1.0, verbose=0, penalty='l2', loss='squared_hinge', tol=0.0001, dual=True, max_iter=2000)
            cv.append(cross_val_score(clf, xtr[keep], y[keep], cv=3, scoring='average_precision').mean())
        best = int(np.argmax(cv))
        clf = LinearSVC(C=costs[best], class_weight={1: 2, -1: 1}, intercept_scaling=1.0, verbose=0, penalty='l2', loss='squared_hinge', tol=0.0001, dual=True, max_iter=2000)
        clf.fit(xtr[keep], y[keep])
        ap = 100 * voc_ap(tte[:, c], clf.decision_function(xte))
        rows.append({'class': c, 'cost': costs[best], 'ap': ap})
        print(f'scikit-learn class{c}: cost {costs[best]:g} (3-fold AP {100 * cv[best]:.2f}), test AP {ap:.2f}', flush=True)
    seconds = time.time() - t0
    # ssl's result, read after scikit-learn's (ssl eval svm may have finished meanwhile); while it still runs, --ssl-log LOG gives the classes it has finished ("SVM classN: ... test AP X")
    res = os.path.join(work, 'eval', 'svm.json')
    if os.path.exists(res):
        ssl = json.load(open(res))
    else:
        import re
        text = open(args[args.index('--ssl-log') + 1]).read() if '--ssl-log' in args else ''
        done = [float(m) / 100 for m in re.findall(r'SVM class\d+: cost \S+ \(3-fold AP [\d.]+\), test AP ([\d.]+)', text)]
        ssl = {'costs': [1.0, 10.0, 100.0], 'value': float('nan'), 'results': {'per_class': [{'ap': a} for a in done]}}
    ssl_pc = ssl['results']['per_class']
    ssl_ap = [100 * p['ap'] for p in ssl_pc]
    print(f'{len(xtr)} train / {len(xte)} test, {xtr.shape[1]}-d, {ttr.shape[1]} classes; sklearn {seconds:.1f} s')
    print('| class | scikit-learn AP | ssl AP | difference |')
    print('|---|---|---|---|')
    for r, a in zip(rows, ssl_ap):
        print(f"| {r['class']} | {r['ap']:.2f} | {a:.2f} | {a - r['ap']:+.2f} |")
    m_sk = float(np.mean([r['ap'] for r in rows]))
    print(f"| mAP | {m_sk:.2f} | {ssl['value']:.2f} | {ssl['value'] - m_sk:+.2f} |")
    worst = max(abs(a - r['ap']) for r, a in zip(rows, ssl_ap))
    print(f'largest per-class difference: {worst:.2f} points (bound 0.5)')
    if out:
        json.dump({'sklearn': rows, 'sklearn_mAP': m_sk, 'ssl_mAP': ssl['value'], 'ssl_per_class': ssl_ap, 'max_abs_diff': worst, 'sklearn_seconds': seconds}, open(out, 'w'), indent=2)


if __name__ == '__main__':
    main()
