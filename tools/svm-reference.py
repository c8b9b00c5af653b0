"""Reference for `ssl eval svm` (src/eval/svm): MMSelfSup's VOC07 SVM protocol run with scikit-learn on seeded
synthetic features, written to test/fixtures/svm/reference.json.

Protocol (MMSelfSup tools/benchmarks/classification/svm_voc07): rows / (||row|| + 1e-5); costs = given + 0.5^4..0.5^19;
per class LinearSVC(C, class_weight={1: 2, -1: 1}, squared hinge, dual, tol 1e-4, max_iter 2000) scored by
cross_val_score(cv=3, scoring='average_precision'); the best cost refits on all of train; test AP = area under the
monotone precision/recall curve, difficult (-1) rows left out. Also sklearn's StratifiedKFold folds and
average_precision_score on tied scores, for the unit checks.

    /usr/bin/python3 tools/svm-reference.py
"""
import json

import numpy as np
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.svm import LinearSVC

rng = np.random.RandomState(7)
C, D, NTR, NTE = 4, 16, 240, 120
centers = rng.randn(C, D) * 1.2


def split(n):
    cls = rng.randint(0, C, n)
    x = centers[cls] + rng.randn(n, D)
    t = np.zeros((n, C), dtype=np.int64)
    t[np.arange(n), cls] = 1
    # a second present class for some images (multi-label, as VOC) and some difficult (-1) entries
    extra = rng.rand(n) < 0.15
    t[extra, (cls[extra] + 1) % C] = 1
    diff = rng.rand(n, C) < 0.05
    t[diff & (t == 0)] = -1
    return np.round(x, 4), t


xtr, ttr = split(NTR)
xte, tte = split(NTE)


def norm(f):
    return f / (np.linalg.norm(f, axis=1) + 1e-5)[:, None]


def voc_ap(labels, scores):
    order = np.argsort(-scores, kind='stable')
    tp = (labels[order] > 0).astype(np.float64)
    fp = 1 - tp
    prec = np.cumsum(tp) / (np.cumsum(tp) + np.cumsum(fp))
    rec = np.cumsum(tp) / tp.sum()
    mrec = np.concatenate([[0], rec, [1]])
    mpre = np.concatenate([[0], prec, [0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    idx = np.where(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mpre[idx]))


costs = [1.0, 10.0, 100.0] + [0.5 ** k for k in range(4, 20)]
ftr, fte = norm(xtr.astype(np.float64)), norm(xte.astype(np.float64))
per_class = []
for c in range(C):
    y = ttr[:, c].copy()
    y[y == 0] = -1
    cv = []
    for cost in costs:
        clf = LinearSVC(C=cost, class_weight={1: 2, -1: 1}, intercept_scaling=1.0, penalty='l2', loss='squared_hinge',
                        tol=0.0001, dual=True, max_iter=2000, random_state=0)
        cv.append(float(cross_val_score(clf, ftr, y, cv=3, scoring='average_precision').mean()))
    best = int(np.argmax(cv))
    clf = LinearSVC(C=costs[best], class_weight={1: 2, -1: 1}, intercept_scaling=1.0, penalty='l2',
                    loss='squared_hinge', tol=0.0001, dual=True, max_iter=2000, random_state=0).fit(ftr, y)
    pred = clf.decision_function(fte)
    keep = tte[:, c] != -1
    lab = tte[keep, c].copy()
    lab[lab == 0] = -1
    per_class.append({'cost': costs[best], 'cv_ap': cv, 'ap': voc_ap(lab, pred[keep])})

yfold = np.array([1, -1, -1, 1, -1, -1, -1, 1, -1, -1, 1, -1, -1, -1])
folds = np.zeros(len(yfold), dtype=int)
for k, (_, te) in enumerate(StratifiedKFold(3).split(np.zeros(len(yfold)), yfold)):
    folds[te] = k
tied_scores = np.array([0.9, 0.5, 0.5, 0.5, 0.2, 0.2, -0.1, -0.4])
tied_labels = np.array([1, -1, 1, 1, -1, 1, -1, 1])

out = {
    'train': {'x': xtr.tolist(), 'targets': ttr.tolist()},
    'test': {'x': xte.tolist(), 'targets': tte.tolist()},
    'costs': [1.0, 10.0, 100.0],
    'per_class': per_class,
    'mAP': float(np.mean([p['ap'] for p in per_class]) * 100),
    'stratified': {'y': yfold.tolist(), 'folds': folds.tolist()},
    'ap_ties': {'labels': tied_labels.tolist(), 'scores': tied_scores.tolist(),
                'sklearn': float(average_precision_score(tied_labels, tied_scores)), 'voc': voc_ap(tied_labels, tied_scores)},
}
with open('test/fixtures/svm/reference.json', 'w') as f:
    json.dump(out, f)
print('mAP', out['mAP'], [p['cost'] for p in per_class])
