"""Reference clustering numbers for test/models/clustering.test.ts, from scikit-learn:

- `pca`: 160 anisotropic Gaussian points in 10-D, PCA-whitened to 5 dims (PCA(whiten=True,
  svd_solver='full')), and MMSelfSup's preprocess_features output (that, then / (L2 norm + 1e-10)).
- `kmeans`: 480 points from 8 overlapping Gaussian blobs in 8-D and scikit-learn's best k-means
  objective (KMeans(k=8, init='k-means++', n_init=10)); and Lloyd's k-means from 8 given rows (20
  iterations), its labels and objective.
- `split2`: what ODCMemory splits: the largest cluster's members, L2-normalised 16-D features from
  one elongated cloud, cut in two by MMSelfSup's KMeans(n_clusters=2, random_state=0, max_iter=20)
  (k-means++ seeding, n_init=10 in scikit-learn 1.2): its inertia, labels and the smaller side's size.

    /usr/bin/python3 tools/kmeans-fixture.py > test/fixtures/clustering/sklearn.json
"""
import json

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

rng = np.random.RandomState(0)


def flat(a, digits):
    return [round(float(v), digits) for v in np.asarray(a, dtype=np.float64).ravel()]


# anisotropic data: distinct eigenvalues so that the eigenvectors are defined up to sign
n, d, p = 160, 10, 5
scales = np.linspace(3.0, 0.3, d)
basis = np.linalg.qr(rng.normal(size=(d, d)))[0]
x = np.round((rng.normal(size=(n, d)) * scales) @ basis.T + rng.normal(size=d), 3).astype(np.float32)
pca = PCA(n_components=p, whiten=True, svd_solver='full').fit(x.astype(np.float64))
white = pca.transform(x.astype(np.float64))
pre = white / (np.linalg.norm(white, axis=1, keepdims=True) + 1e-10)

nk, dk, k = 480, 8, 8
centers = rng.normal(scale=1.0, size=(k, dk))
xk = np.round(np.concatenate([c + rng.normal(size=(nk // k, dk)) for c in centers]), 3).astype(np.float32)
km = KMeans(n_clusters=k, init='k-means++', n_init=10, max_iter=300, random_state=0).fit(xk.astype(np.float64))
# Lloyd from given starting points, 20 iterations (MMSelfSup's niter): the same steps as faiss's
init_rows = rng.choice(nk, k, replace=False)
lloyd = KMeans(n_clusters=k, init=xk[init_rows].astype(np.float64), n_init=1, max_iter=20, tol=0,
               algorithm='lloyd').fit(xk.astype(np.float64))

# drawn after everything above, so the earlier entries stay as they were
ns, ds = 300, 16
cloud = rng.normal(size=(ns, ds)) * np.linspace(1.0, 0.2, ds) + 3.0 * rng.normal(size=ds)
xs = np.round(cloud / np.linalg.norm(cloud, axis=1, keepdims=True), 5).astype(np.float32)
split = KMeans(n_clusters=2, random_state=0, max_iter=20, n_init=10).fit(xs)

print(json.dumps({
    'sklearn': sklearn.__version__,
    'pca': {'n': n, 'd': d, 'pca_dim': p, 'x': flat(x, 3), 'whitened': flat(white, 6),
            'explained_variance': flat(pca.explained_variance_, 8), 'preprocessed': flat(pre, 6)},
    'kmeans': {'n': nk, 'd': dk, 'k': k, 'x': flat(xk, 3), 'inertia': float(km.inertia_),
               'init_rows': init_rows.tolist(), 'lloyd_labels': lloyd.labels_.tolist(),
               'lloyd_inertia': float(lloyd.inertia_), 'lloyd_iterations': int(lloyd.n_iter_)},
    'split2': {'n': ns, 'd': ds, 'x': flat(xs, 5), 'inertia': float(split.inertia_), 'labels': split.labels_.tolist(),
               'smaller': int(min(np.bincount(split.labels_)))},
}))
