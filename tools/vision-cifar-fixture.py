#!/usr/bin/python3
"""Writes tiny CIFAR-10/100 trees (the python pickle layout, as torchvision/the CIFAR site ship them,
and the -bin layout) under test/fixtures/data/cifar for ssl's data source tests.
Run: /usr/bin/python3 tools/vision-cifar-fixture.py
"""
import os
import pickle

import numpy as np

ROOT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'data', 'cifar')


def images(n, seed):
    return np.random.RandomState(seed).randint(0, 256, size=(n, 3072), dtype=np.uint8)


def main():
    py10 = os.path.join(ROOT, 'cifar-10-batches-py')
    bin10 = os.path.join(ROOT, 'cifar-10-batches-bin')
    py100 = os.path.join(ROOT, 'cifar100', 'cifar-100-python')
    for d in (py10, bin10, py100):
        os.makedirs(d, exist_ok=True)
    for k in range(1, 6):
        data = images(2, k)
        labels = [(k * 3 + i) % 10 for i in range(2)]
        # protocol 2 with bytes keys/values encoded like the original Python 2 pickles read with latin1
        with open(os.path.join(py10, f'data_batch_{k}'), 'wb') as f:
            pickle.dump({b'batch_label': b'training batch %d of 5' % k, b'labels': labels, b'data': data, b'filenames': [b'a.png', b'b.png']}, f, protocol=2)
        with open(os.path.join(bin10, f'data_batch_{k}.bin'), 'wb') as f:
            for i in range(2):
                f.write(bytes([labels[i]]) + data[i].tobytes())
    test = images(3, 99)
    with open(os.path.join(py10, 'test_batch'), 'wb') as f:
        pickle.dump({b'labels': [1, 2, 3], b'data': test}, f, protocol=2)
    with open(os.path.join(bin10, 'test_batch.bin'), 'wb') as f:
        for i, l in enumerate([1, 2, 3]):
            f.write(bytes([l]) + test[i].tobytes())
    with open(os.path.join(py10, 'batches.meta'), 'wb') as f:
        pickle.dump({b'label_names': [b'airplane', b'automobile', b'bird', b'cat', b'deer', b'dog', b'frog', b'horse', b'ship', b'truck'], b'num_vis': 3072}, f, protocol=2)
    with open(os.path.join(py100, 'train'), 'wb') as f:
        pickle.dump({'fine_labels': [5, 77, 99], 'coarse_labels': [1, 2, 3], 'data': images(3, 7)}, f, protocol=4)
    with open(os.path.join(py100, 'meta'), 'wb') as f:
        pickle.dump({'fine_label_names': [f'class{i}' for i in range(100)]}, f, protocol=4)
    # Expected pixels: image 0 of data_batch_1, HWC, for the tests.
    first = images(2, 1)[0].reshape(3, 32, 32).transpose(1, 2, 0)
    with open(os.path.join(ROOT, 'expected_first_hwc.bin'), 'wb') as f:
        f.write(first.tobytes())


if __name__ == '__main__':
    main()
