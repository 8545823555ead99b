"""MNIST through tensorflow-datasets, as (image in [-1, 1], label) batches."""

import functools
import os
import re
import socket
import urllib.parse

import numpy as np
import tensorflow as tf

from cgan.errors import CganError, first_line

MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
HOW_TO_SUPPLY = (
    "put the four original MNIST files ({}) in a folder and pass --mnist_dir DIR "
    "or set CGAN_MNIST_DIR".format(", ".join(MNIST_FILES))
)


def _check_manual_dir(mnist_dir):
    if not os.path.isdir(mnist_dir):
        raise CganError(f"--mnist_dir {mnist_dir!r} is not a readable folder; {HOW_TO_SUPPLY}")
    for name in MNIST_FILES:
        path = os.path.join(mnist_dir, name)
        if not os.access(path, os.R_OK):
            raise CganError(f"MNIST file {path!r} is missing or unreadable; {HOW_TO_SUPPLY}")


def _can_reach(url, timeout=5.0):
    """True when the host of `url` answers: tfds would otherwise retry for minutes offline."""
    host = urllib.parse.urlparse(url).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _prepared_builder(mnist_dir=None, data_dir=None):
    """A tfds MNIST builder whose data is prepared, from local files or by download."""
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.download.download_manager import NonMatchingChecksumError
    from tensorflow_datasets.image_classification import mnist as tfds_mnist

    if mnist_dir:
        _check_manual_dir(mnist_dir)  # even when prepared: a wrong flag should not pass silently
    builder = tfds.builder("mnist", data_dir=data_dir)
    if builder.is_prepared():
        return builder
    if not mnist_dir and not _can_reach(tfds_mnist._MNIST_URL):
        raise CganError(f"MNIST is not prepared and cannot be downloaded (no network); {HOW_TO_SUPPLY}")
    print(f"Preparing MNIST in {builder.data_dir} (once) from {mnist_dir or 'the network'}")
    tfds.disable_progress_bar()  # its bars would bury the one-line errors below
    config = tfds.download.DownloadConfig(manual_dir=mnist_dir)
    try:
        builder.download_and_prepare(download_config=config)
    except NonMatchingChecksumError as error:
        match = re.search(r"downloaded to (\S+?),", str(error))
        bad = match.group(1) if match else "a file"
        raise CganError(f"{bad} fails its checksum: replace it with the original MNIST file") from None
    except (OSError, ValueError) as error:  # corrupt gzip, truncated IDX file, failed download
        raise CganError(f"could not prepare MNIST: {first_line(error)}; {HOW_TO_SUPPLY}") from None
    return builder


@functools.lru_cache(maxsize=2)  # the two splits: tfds takes ~4 s per read, and a comparison reads per arm
def _split_arrays(split, mnist_dir, data_dir):
    builder = _prepared_builder(mnist_dir, data_dir)
    try:
        images, labels = builder.as_dataset(split=split, batch_size=-1, as_supervised=True)
    except (tf.errors.OpError, OSError, ValueError) as error:  # a truncated or edited prepared file
        raise CganError(
            f"the prepared MNIST in {builder.data_dir} is unreadable ({first_line(error)}); "
            "delete that folder and MNIST is prepared again from the original files"
        ) from None
    images, labels = images.numpy(), labels.numpy().astype(np.int32)
    for array in (images, labels):
        array.setflags(write=False)  # shared by every caller: nobody may change them in place
    return images, labels


def load_arrays(split="train", mnist_dir=None, data_dir=None, digit=None):
    """MNIST `split` as read-only numpy arrays: images uint8 (N, 28, 28, 1) and labels int32 (N,).

    Read once per process and folder; a digit filter returns a copy of that digit's rows.
    """
    images, labels = _split_arrays(split, mnist_dir, data_dir)
    if digit is not None:
        keep = labels == digit
        images, labels = images[keep], labels[keep]
    return images, labels


def label_shares(mnist_dir=None, data_dir=None):
    """Each digit's share of the training set, shape (10,): MNIST has 9.0% fives and 11.2% ones."""
    _, labels = load_arrays("train", mnist_dir, data_dir)
    return np.bincount(labels, minlength=NUM_CLASSES) / len(labels)


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

    All of MNIST fits in memory (47 MB of uint8), so there is no file reading and
    no Python work per step; scaling to [-1, 1] runs once per batch, vectorized.
    The order depends on `seed` only, so a resumed run passes the number of batches it
    already used as `skip_batches` and gets the very batches an uninterrupted run would:
    skipping 9,000 batches (10 epochs at batch 64) takes about 1.3 s once, where saving the
    iterator in every checkpoint would add its 60,000-image shuffle buffer (59 MB, 2.3 s).
    """
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).cache()
    dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.repeat()
    dataset = dataset.batch(global_batch_size, drop_remainder=True).skip(skip_batches)
    dataset = dataset.map(lambda x, y: (to_unit_range(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    if step_inputs is not None:
        dataset = dataset.enumerate(start=skip_batches).map(
            lambda number, batch: step_inputs(number, *batch), num_parallel_calls=tf.data.AUTOTUNE
        )
    return dataset.prefetch(tf.data.AUTOTUNE)
