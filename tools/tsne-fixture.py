"""Reference t-SNE for test/analysis/tsne.test.ts: three Gaussian blobs in 10-D (n=240), embedded
by scikit-learn's TSNE with MMSelfSup's visualize_tsne.py settings (barnes_hut, init='random',
perplexity 30, early_exaggeration 12, learning_rate 200, n_iter 1000), and its trustworthiness
(k=10). The test embeds the same points with ssl and compares.

    /usr/bin/python3 tools/tsne-fixture.py > test/fixtures/tsne/blobs.json
"""
import json

import numpy as np
import sklearn
from sklearn.manifold import TSNE, trustworthiness

rng = np.random.RandomState(0)
n_per, dim = 80, 10
centers = rng.normal(scale=4.0, size=(3, dim))
# rounded as stored, so the test reads exactly the points scikit-learn saw
x = np.round(np.concatenate([c + rng.normal(size=(n_per, dim)) for c in centers]), 5).astype(np.float32)
labels = np.repeat(np.arange(3), n_per)
y = TSNE(n_components=2, perplexity=30.0, early_exaggeration=12.0, learning_rate=200.0, n_iter=1000,
         n_iter_without_progress=300, init='random', method='barnes_hut', random_state=0).fit_transform(x)
y = np.round(y, 5)
print(json.dumps({
    'sklearn': sklearn.__version__,
    'dim': dim,
    'x': [float(v) for v in x.ravel()],
    'labels': labels.tolist(),
    'sklearn_embedding': [float(v) for v in y.ravel()],
    'sklearn_trustworthiness': float(trustworthiness(x, y, n_neighbors=10)),
}))
