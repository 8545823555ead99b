"""In-memory data handed to cgan.train(dataset=...): (images, labels) arrays or a tf.data.Dataset,
checked, converted to uint8 (N, H, W, C) and kept for this process under the dataset name
arrays:<fingerprint>, which the Config, the run folder and the judge's cache use.

What is accepted (anything else is refused with one line):
- images (N, H, W) or (N, H, W, C) with C 1 or 3, all of one shape; integer pixels in 0..255,
  or floats in [0, 1], or floats in [-1, 1] (read as [-1, 1] when any value is negative, as
  the TensorFlow DCGAN tutorial's `(x - 127.5) / 127.5` gives), finite;
- labels (N,) (or (N, 1)) of an integer type, the class indices 0..K-1, every class present,
  at least two; K is len(class_names) when names are given, else the largest label + 1;
- a tf.data.Dataset of (image, label) elements (or {"image", "label"} dicts), batched or not
  (batched when the label has a batch axis); it is read once into arrays, so it must be finite
  and fit in memory.
The images are put in one order (by content), so data that comes in another order (a tf.data
Dataset that shuffles) is the same data: the same fingerprint, split and training batches.
Without a test split, every TEST_EVERY-th image of each class (in that order) is held out as
one, as for a folder dataset: the judge is scored on it, and the judge and the GAN train on the
rest.
"""

import dataclasses
import hashlib
import json
from typing import Optional

import numpy as np

from cgan.datasource import ARRAYS_PREFIX
from cgan.errors import CganError, first_line
from cgan.image_folder import TEST_EVERY

NAME_DIGITS = 16  # of the sha256 in the dataset's name: 64 bits tell datasets apart
READ_BATCH = 1024  # elements per batch when reading an unbatched tf.data.Dataset


@dataclasses.dataclass(frozen=True)
class InMemory:
    """One in-memory dataset: its facts, and its splits when this process was handed the data."""

    fingerprint: str  # sha256 (hex) of both splits' pixels, labels and shapes and the class names
    image_shape: tuple  # (height, width, channels)
    class_names: tuple
    label_shares: tuple  # each class's share of the training split
    splits: Optional[dict] = dataclasses.field(default=None, repr=False)  # split -> (x, y)

    def facts(self) -> dict:
        """What run.json records: enough to draw from the run without the data."""
        sizes = {name: len(y) for name, (_, y) in (self.splits or {}).items()}
        return dict(
            fingerprint=self.fingerprint,
            image_shape=list(self.image_shape),
            class_names=list(self.class_names),
            label_shares=list(self.label_shares),
            sizes=sizes,
        )


_KNOWN = {}  # dataset name -> InMemory: what this process was handed or has read a run.json of


def register(dataset, test=None, class_names=None) -> str:
    """Checks and converts `dataset` ((images, labels) or a tf.data.Dataset) and `test` (the same
    forms, or None: held out), keeps them for this process and returns their dataset name,
    arrays:<first NAME_DIGITS hex digits of the fingerprint>."""
    train_images, train_labels = _canonical(*_checked(*_as_numpy(dataset, "dataset"), "dataset"))
    if test is None:
        test_images, test_labels = None, None
    else:
        test_images, test_labels = _canonical(*_checked(*_as_numpy(test, "test"), "test"))
        if test_images.shape[1:] != train_images.shape[1:]:
            raise CganError(
                f"test images are {_shape(test_images)}, the dataset's {_shape(train_images)}"
            )
    names = _class_names(class_names, train_labels, test_labels)
    if test is None:
        (train_images, train_labels), (test_images, test_labels) = _held_out(
            train_images, train_labels
        )
    splits = dict(train=(train_images, train_labels), test=(test_images, test_labels))
    for images, labels in splits.values():
        for array in (images, labels):
            array.setflags(write=False)  # cgan.data hands them out as its other datasets
    fingerprint = _fingerprint(splits, names)
    shares = np.bincount(train_labels, minlength=len(names)) / len(train_labels)
    name = ARRAYS_PREFIX + fingerprint[:NAME_DIGITS]
    _KNOWN[name] = InMemory(
        fingerprint, train_images.shape[1:], names, tuple(shares.tolist()), splits
    )
    return name


def described(source) -> InMemory:
    """The InMemory of `source` (a DataSource of arrays:<fingerprint>), or CganError."""
    found = _KNOWN.get(source.dataset)
    if found is None:
        raise CganError(
            f"{source.dataset} is in-memory data that this process was not handed: pass it "
            "again with cgan.train(dataset=...), or draw from a run folder that trained on it"
        )
    return found


def split_arrays(source, split):
    """(uint8 images (N, H, W, C), int32 labels (N,)) of `split`, "train" or "test"."""
    found = described(source)
    if found.splits is None:
        raise CganError(
            f"{source.dataset} is in-memory data: this process knows its shape and classes from "
            "a run folder but not its images; pass them again with cgan.train(dataset=...)"
        )
    return found.splits[split]


def recall(source, saved):
    """Learns the shape and classes of `source`'s in-memory data from a run.json (`saved`, or
    None) that records them, unless this process knows the data: a later process draws from
    the run without the images."""
    facts = (saved or {}).get("data") or {}
    if source.dataset in _KNOWN or not facts.get("fingerprint", "").startswith(source.arrays):
        return
    _KNOWN[source.dataset] = InMemory(
        facts["fingerprint"],
        tuple(facts["image_shape"]),
        tuple(facts["class_names"]),
        tuple(facts["label_shares"]),
    )


def forget(name=None):
    """Drops one in-memory dataset (by name), or all of them: frees their memory."""
    if name is None:
        _KNOWN.clear()
    else:
        _KNOWN.pop(name, None)


def _shape(images):
    return " x ".join(map(str, images.shape[1:]))


def _as_numpy(data, what):
    """(images, labels) numpy arrays of a pair of arrays or of a tf.data.Dataset."""
    import tensorflow as tf

    if isinstance(data, tf.data.Dataset):
        return _materialised(data, what)
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise CganError(
            f"{what}= takes (images, labels) arrays or a tf.data.Dataset of (image, label), "
            f"got {type(data).__name__}"
        )
    images, labels = data
    if not isinstance(images, np.ndarray) and len({np.shape(image) for image in images}) > 1:
        raise CganError(f"{what}: the images are of mixed shapes; give them all one shape")
    return np.asarray(images), np.asarray(labels)


def _materialised(dataset, what):
    """Reads a finite tf.data.Dataset of (image, label), batched or not, into two arrays."""
    import tensorflow as tf

    spec = dataset.element_spec
    if isinstance(spec, dict) and {"image", "label"} <= spec.keys():  # as tfds gives them
        dataset = dataset.map(lambda element: (element["image"], element["label"]))
        spec = dataset.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise CganError(f"{what}: a tf.data.Dataset of (image, label) elements, got {spec}")
    if dataset.cardinality() == tf.data.INFINITE_CARDINALITY:
        raise CganError(f"{what}: the tf.data.Dataset repeats forever; give it without repeat()")
    batched = spec[1].shape.rank is not None and spec[1].shape.rank >= 1
    if not batched and spec[0].shape.is_fully_defined():
        dataset, batched = dataset.batch(READ_BATCH), True  # a batch at a time: far faster
    images, labels = [], []
    try:
        for image, label in dataset.as_numpy_iterator():
            if batched and len(image) != len(label):
                raise CganError(f"{what}: a batch of {len(image)} images has {len(label)} labels")
            images.append(image)
            labels.append(label)
    except (tf.errors.OpError, ValueError, TypeError) as error:
        problem = first_line(error)
        raise CganError(f"{what}: reading the tf.data.Dataset failed: {problem}") from None
    if not images:
        raise CganError(f"{what}: no images")
    if len({np.shape(image)[batched:] for image in images}) > 1:
        raise CganError(f"{what}: the images are of mixed shapes; give them all one shape")
    join = np.concatenate if batched else np.stack
    return join(images), join(labels)


def _checked(images, labels, what):
    """(uint8 (N, H, W, C), int32 (N,)) of images and labels, or CganError saying what is wrong."""
    if labels.ndim == 2 and labels.shape[1] == 1:  # keras.datasets' cifar10 labels
        labels = labels[:, 0]
    if len(images) == 0:
        raise CganError(f"{what}: no images")
    if labels.ndim != 1 or len(labels) != len(images):
        raise CganError(
            f"{what}: {len(images)} images but labels of shape {labels.shape}; "
            "give one class index per image"
        )
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise CganError(
            f"{what}: images must be (N, H, W) or (N, H, W, C) with 1 or 3 channels, "
            f"got {images.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise CganError(f"{what}: labels must be integer class indices, got {labels.dtype}")
    if labels.min() < 0:
        raise CganError(f"{what}: labels must be class indices 0, 1, ..., got {labels.min()}")
    return _pixels(images, what), labels.astype(np.int32)


def _pixels(images, what):
    """uint8 pixels of integer images in 0..255 or float images in [0, 1] or [-1, 1]."""
    if np.issubdtype(images.dtype, np.integer):
        low, high = images.min(), images.max()
        if low < 0 or high > 255:
            raise CganError(f"{what}: integer images must be pixels in 0..255, got {low}..{high}")
        return np.ascontiguousarray(images, dtype=np.uint8)
    if not np.issubdtype(images.dtype, np.floating):
        raise CganError(f"{what}: images must be integer or float numbers, got {images.dtype}")
    if not np.isfinite(images).all():
        raise CganError(f"{what}: the images hold NaN or infinite values")
    low, high = float(images.min()), float(images.max())
    if low < -1.0 or high > 1.0:
        raise CganError(
            f"{what}: float images must be in [0, 1] or [-1, 1], got {low:g}..{high:g} "
            "(for pixels in 0..255 give uint8, or divide by 255)"
        )
    unit = images.astype(np.float64) if low >= 0 else (images.astype(np.float64) + 1.0) / 2.0
    return np.clip(np.rint(unit * 255.0), 0, 255).astype(np.uint8)


def _canonical(images, labels):
    """Both sorted by content (pixels, then label): the order the data comes in (a shuffling
    tf.data.Dataset's) changes neither its fingerprint nor its held-out split nor its batches."""
    label_bytes = labels.astype(">i4").view(np.uint8).reshape(len(labels), 4)
    rows = np.ascontiguousarray(np.concatenate([images.reshape(len(images), -1), label_bytes], 1))
    order = np.argsort(rows.view(np.dtype((np.void, rows.shape[1])))[:, 0], kind="stable")
    return images[order], labels[order]


def _class_names(class_names, train_labels, test_labels):
    """The class names (given, or "0".."K-1"), every label among them and every class trained."""
    labels = train_labels if test_labels is None else np.concatenate([train_labels, test_labels])
    count = int(labels.max()) + 1 if class_names is None else len(class_names)
    if labels.max() >= count:
        raise CganError(
            f"label {labels.max()} is out of range: class_names names {count} classes "
            f"(labels 0..{count - 1})"
        )
    if count < 2:
        raise CganError(f"a conditional GAN needs at least two classes, the labels hold {count}")
    missing = np.flatnonzero(np.bincount(train_labels, minlength=count) == 0)
    if len(missing):
        raise CganError(
            f"class {missing[0]} has no training images: the labels must be 0..{count - 1}, "
            "each with images"
        )
    names = tuple(str(k) for k in range(count)) if class_names is None else tuple(class_names)
    if len(set(names)) != len(names) or not all(isinstance(name, str) for name in names):
        raise CganError(f"class_names must be distinct strings, got {names}")
    return names


def _held_out(images, labels):
    """((train images, labels), (test images, labels)): every TEST_EVERY-th image of a class
    in the test split, in the given order."""
    test = np.zeros(len(labels), bool)
    for label in np.unique(labels):
        test[np.flatnonzero(labels == label)[TEST_EVERY - 1 :: TEST_EVERY]] = True
    if not test.any():
        raise CganError(
            f"no test images: without test=, every {TEST_EVERY}th image of a class is held "
            f"out for the judge, so a class needs {TEST_EVERY}; or give test=(images, labels)"
        )
    return (images[~test], labels[~test]), (images[test], labels[test])


def _fingerprint(splits, class_names):
    """sha256 (hex) of the splits' shapes, pixels and labels, and the class names."""
    digest = hashlib.sha256(json.dumps(list(class_names)).encode())
    for split in ("train", "test"):
        for array in splits[split]:
            digest.update(f"{split}{array.shape}{array.dtype}".encode())
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()
