"""scikit-learn's side of benchmarks/tsne.ts.

    tsne_sklearn.py embed FEATS.f32 N DIM OUT.f64   -> prints {"seconds": ...}: TSNE.fit_transform only
    tsne_sklearn.py trust FEATS.f32 N DIM EMB.f64   -> prints {"trustworthiness": ...} (k=10)

TSNE runs with MMSelfSup's visualize_tsne.py settings (barnes_hut, init='random', perplexity 30,
early_exaggeration 12, learning_rate 200, n_iter 1000, n_iter_without_progress 300), n_jobs=1; the
caller sets OMP/OPENBLAS_NUM_THREADS=1.
"""
import json
import sys
import time

import numpy as np
from sklearn.manifold import TSNE, trustworthiness

mode, feats, n, dim, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
x = np.fromfile(feats, dtype=np.float32).reshape(n, dim)
if mode == 'embed':
    t = time.perf_counter()
    y = TSNE(n_components=2, perplexity=30.0, early_exaggeration=12.0, learning_rate=200.0, n_iter=1000,
             n_iter_without_progress=300, init='random', method='barnes_hut', random_state=0, n_jobs=1).fit_transform(x)
    seconds = time.perf_counter() - t
    y.astype(np.float64).tofile(path)
    print(json.dumps({'seconds': seconds}))
else:
    y = np.fromfile(path, dtype=np.float64).reshape(n, 2)
    print(json.dumps({'trustworthiness': float(trustworthiness(x, y, n_neighbors=10))}))
