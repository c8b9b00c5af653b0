"""scikit-learn's side of benchmarks/kmeans.ts: MMSelfSup's Kmeans on FEATS.f32 (N x DIM) with
scikit-learn: PCA(whiten) to PCA_DIM, rows / (L2 norm + 1e-10), KMeans(K, init='random', n_init=1,
max_iter=20, tol=0, algorithm='lloyd'). Prints {"seconds": ..., "inertia": ...}; the caller sets
OMP/OPENBLAS_NUM_THREADS=1.

    kmeans_sklearn.py FEATS.f32 N DIM K PCA_DIM
"""
import json
import sys
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

feats, n, dim, k, pca_dim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
x = np.fromfile(feats, dtype=np.float32).reshape(n, dim)
t = time.perf_counter()
y = PCA(n_components=pca_dim, whiten=True, svd_solver='full').fit_transform(x)
y = (y / (np.linalg.norm(y, axis=1, keepdims=True) + 1e-10)).astype(np.float32)
km = KMeans(n_clusters=k, init='random', n_init=1, max_iter=20, tol=0, algorithm='lloyd', random_state=0).fit(y)
print(json.dumps({'seconds': time.perf_counter() - t, 'inertia': float(km.inertia_)}))
