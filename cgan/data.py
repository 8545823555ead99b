"""Training images and labels, as (image in [-1, 1], label) batches.

A dataset is either a tensorflow-datasets image classification dataset with an `image` and a
`label` feature (mnist, fashion_mnist, kmnist, emnist/digits, cifar10, ...) or a folder of
image files, one sub-folder per class (`folder:PATH`), or arrays handed to cgan.train
(`arrays:<fingerprint>`, see cgan.arrays). Each is read once into uint8 arrays (N, H, W, C),
resized when the config asks for another side, and described by a DatasetSpec: image shape,
number of classes, class names.
"""

import dataclasses
import functools

import numpy as np
import tensorflow as tf

from cgan import arrays, image_folder, tfds_data
from cgan.datasource import DataSource
from cgan.errors import CganError

RESIZE_CHUNK = 5_000  # images resized per call: bounds the float32 copy of a big dataset


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """What the models are built for: the (resized) image shape and the classes."""

    name: str
    image_shape: tuple  # (height, width, channels)
    class_names: tuple  # the label k is called class_names[k]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def _tfds_spec(source):
    shape, names = tfds_data.shape_and_classes(source)
    return DatasetSpec(source.dataset, shape, names)


def _folder_spec(source):
    shape, names = image_folder.shape_and_classes(source)
    return DatasetSpec(source.dataset, shape, names)


def _arrays_spec(source):
    found = arrays.described(source)
    return DatasetSpec(source.dataset, tuple(found.image_shape), tuple(found.class_names))


# ---------------------------------------------------------------------------------------------
# Either
# ---------------------------------------------------------------------------------------------


def resized(images, size):
    """uint8 (N, H, W, C) -> uint8 (N, size, size, C): bilinear, antialiased when shrinking."""
    if images.shape[1:3] == (size, size):
        return images
    chunks = [
        tf.image.resize(images[start : start + RESIZE_CHUNK], (size, size), antialias=True).numpy()
        for start in range(0, len(images), RESIZE_CHUNK)
    ]
    return np.clip(np.rint(np.concatenate(chunks)), 0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=8)
def spec(source: DataSource) -> DatasetSpec:
    """The image shape (after source.image_size) and class names of `source`'s dataset."""
    if source.arrays:
        found = _arrays_spec(source)
    else:
        found = _folder_spec(source) if source.folder else _tfds_spec(source)
    height, width, channels = found.image_shape
    if source.image_size is not None:
        height = width = source.image_size
    elif height is None or width is None or height % 4 or width % 4:
        raise CganError(
            f"--dataset {source.dataset!r} has images of {height} x {width} pixels; "
            "the models need sides that are multiples of 4: give --image_size (28, 32, 64, ...)"
        )
    return dataclasses.replace(found, image_shape=(height, width, channels))


@functools.lru_cache(
    maxsize=4
)  # both splits of two datasets: a read takes seconds, and a comparison reads per arm
def _split_arrays(split, source):
    if source.folder:
        images, labels = image_folder.arrays(source, split, resized)
    elif source.arrays:
        images, labels = arrays.split_arrays(source, split)
    else:
        images, labels = tfds_data.arrays(source, split)
    if images.ndim == 3:
        images = images[..., None]
    if source.image_size is not None:
        images = resized(images, source.image_size)
    images, labels = images.astype(np.uint8), labels.astype(np.int32)
    for array in (images, labels):
        array.setflags(write=False)  # shared by every caller: nobody may change them in place
    return images, labels


def load_arrays(split="train", source=DataSource(), digit=None):
    """`split` ("train" or "test") of `source` as read-only numpy arrays: images uint8 (N, H, W, C)
    and labels int32 (N,).

    Read once per process and source; a label filter (`digit`) returns a copy of that label's rows.
    """
    if source.arrays and source.image_size is None:  # in memory already: arrays.forget frees it
        images, labels = arrays.split_arrays(source, split)
    else:
        images, labels = _split_arrays(split, source)
    if digit is not None:
        keep = labels == digit
        images, labels = images[keep], labels[keep]
    return images, labels


def check_label(source, label):
    """Refuses (CganError) a --digit the dataset has no class for."""
    classes = spec(source).class_names
    if label is not None and not 0 <= label < len(classes):
        raise CganError(
            f"--digit must be a label of {source.dataset}, 0 to {len(classes) - 1}, got {label}"
        )


def label_shares(source=DataSource()):
    """Each label's share of the training set, shape (num_classes,): MNIST's are not equal."""
    if source.arrays:  # known from run.json in a process that was not handed the images
        return np.asarray(arrays.described(source).label_shares)
    _, labels = load_arrays("train", source)
    return np.bincount(labels, minlength=spec(source).num_classes) / len(labels)


def labels_in_proportion(count, shares):
    """`count` labels in label order, each class `shares` of them (largest remainders round),
    so a conditional generator's samples have the class mix of the data they are compared with."""
    exact = np.asarray(shares, np.float64) * count
    counts = np.floor(exact).astype(np.int64)
    counts[np.argsort(counts - exact, kind="stable")[: count - counts.sum()]] += 1
    return np.repeat(np.arange(len(counts)), counts).astype(np.int32)


def to_unit_range(images):
    """uint8 pixels [0, 255] -> float32 in [-1, 1], the range of a tanh generator."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def to_uint8(images):
    """Generator output in [-1, 1] -> uint8 pixels, clipped."""
    return np.clip(np.rint((np.asarray(images) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def training_dataset(images, labels, global_batch_size, seed, skip_batches=0, step_inputs=None):
    """Shuffled, endlessly repeated (image, label) batches with the remainder dropped; with
    `step_inputs`, a function (batch number, images, labels) -> what a train step consumes, its
    results instead.

    The images are in memory (all of MNIST is 47 MB of uint8), so there is no file reading and
    no Python work per step; scaling to [-1, 1] runs once per batch, vectorized.
    The order depends on `seed` only, so a resumed run passes the number of batches it
    already used as `skip_batches` and gets the very batches an uninterrupted run would:
    skipping is cheaper than saving the iterator's whole shuffle buffer in every checkpoint.
    """
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).cache()
    dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.repeat()
    dataset = dataset.batch(global_batch_size, drop_remainder=True).skip(skip_batches)
    # traced as written, as the train step is: AutoGraph's rewriting costs every run seconds
    plain = tf.autograph.experimental.do_not_convert
    dataset = dataset.map(
        plain(lambda x, y: (to_unit_range(x), y)), num_parallel_calls=tf.data.AUTOTUNE
    )
    if step_inputs is not None:
        dataset = dataset.enumerate(start=skip_batches).map(
            plain(lambda number, batch: step_inputs(number, *batch)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return dataset.prefetch(tf.data.AUTOTUNE)
