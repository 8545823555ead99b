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
import hashlib
import os
import re
import socket
import urllib.parse

import numpy as np
import tensorflow as tf

from cgan import arrays, image_folder
from cgan.datasource import DataSource
from cgan.errors import CganError, first_line

RESIZE_CHUNK = 5_000  # images resized per call: bounds the float32 copy of a big dataset
EXAMPLE_DATASETS = "mnist, fashion_mnist, kmnist, emnist/digits, cifar10"


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """What the models are built for: the (resized) image shape and the classes."""

    name: str
    image_shape: tuple  # (height, width, channels)
    class_names: tuple  # the label k is called class_names[k]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


# ---------------------------------------------------------------------------------------------
# tensorflow-datasets
# ---------------------------------------------------------------------------------------------


def _can_reach(url, timeout=5.0):
    """True when the host of `url` answers: tfds would otherwise retry for minutes offline."""
    host = urllib.parse.urlparse(url).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _original_files(builder):
    """{file name: url} of the files tfds downloads for `builder`: what a manual folder holds."""
    return {
        info.filename or os.path.basename(url): url
        for url, info in (builder.url_infos or {}).items()
    }


def _how_to_supply(builder):
    names = ", ".join(sorted(_original_files(builder))) or "its original files"
    flag = (
        "--mnist_dir DIR or set CGAN_MNIST_DIR" if builder.name == "mnist" else "--manual_dir DIR"
    )
    return f"put {builder.name}'s original files ({names}) in a folder and pass {flag}"


def _check_manual_dir(builder, manual_dir):
    if not os.path.isdir(manual_dir):
        raise CganError(f"{manual_dir!r} is not a readable folder; {_how_to_supply(builder)}")
    for name in sorted(_original_files(builder)):
        path = os.path.join(manual_dir, name)
        if not os.access(path, os.R_OK):
            raise CganError(
                f"{builder.name} file {path!r} is missing or unreadable; {_how_to_supply(builder)}"
            )


def _check_checksums(builder, manual_dir):
    """Refuses a manual file whose sha256 is not the one tfds records for it, before preparing:
    tfds itself finds a bad file only after reading the others."""
    for info in (builder.url_infos or {}).values():
        path = os.path.join(manual_dir, info.filename or "")
        if not info.checksum or not os.path.isfile(path):
            continue
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != info.checksum:
            raise CganError(
                f"{path} fails its checksum: replace it with the original {builder.name} file"
            )


def _tfds_builder(source):
    """The tfds builder of source.dataset, refused unless it has an image and a label feature."""
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.registered import DatasetNotFoundError

    try:
        builder = tfds.builder(source.dataset, data_dir=source.data_dir)
    except DatasetNotFoundError:
        raise CganError(
            f"--dataset: tensorflow-datasets has no dataset {source.dataset!r} "
            f"(e.g. {EXAMPLE_DATASETS}, or folder:PATH for your own images)"
        ) from None
    except (ValueError, KeyError) as error:  # an unknown config such as emnist/nothing
        raise CganError(f"--dataset {source.dataset!r}: {first_line(error)}") from None
    features = builder.info.features
    if not all(name in features for name in ("image", "label")) or not hasattr(
        features["label"], "names"
    ):
        raise CganError(
            f"--dataset {source.dataset!r} has no 'image' and class 'label' features "
            f"(it has {', '.join(features)}): cgan trains on image classification datasets"
        )
    return builder


def _prepared_builder(source):
    """The builder of source.dataset with its data prepared, from local files or by download."""
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.download.download_manager import NonMatchingChecksumError

    builder = _tfds_builder(source)
    if source.manual_dir:
        _check_manual_dir(
            builder, source.manual_dir
        )  # even when prepared: a wrong flag should not pass silently
    if builder.is_prepared():
        return builder
    urls = list(_original_files(builder).values())
    if not source.manual_dir and urls and not _can_reach(urls[0]):
        raise CganError(
            f"{builder.name} is not prepared and cannot be downloaded (no network); "
            f"{_how_to_supply(builder)}"
        )
    if source.manual_dir:
        _check_checksums(builder, source.manual_dir)
    print(
        f"Preparing {builder.name} in {builder.data_dir} (once) "
        f"from {source.manual_dir or 'the network'}"
    )
    tfds.disable_progress_bar()  # its bars would bury the one-line errors below
    config = tfds.download.DownloadConfig(manual_dir=source.manual_dir)
    try:
        builder.download_and_prepare(download_config=config)
    except NonMatchingChecksumError as error:
        match = re.search(r"downloaded to (\S+?),", str(error))
        bad = match.group(1) if match else "a file"
        raise CganError(
            f"{bad} fails its checksum: replace it with the original {builder.name} file"
        ) from None
    except (OSError, ValueError) as error:  # corrupt gzip, truncated IDX file, failed download
        raise CganError(
            f"could not prepare {builder.name}: {first_line(error)}; {_how_to_supply(builder)}"
        ) from None
    return builder


def _tfds_split(builder, split):
    """tfds' name for our "train" or "test": a dataset without a test split lends its last 10%."""
    if "test" in builder.info.splits:
        return split
    return "train[:90%]" if split == "train" else "train[90%:]"


def _tfds_arrays(source, split):
    builder = _prepared_builder(source)
    try:
        images, labels = builder.as_dataset(
            split=_tfds_split(builder, split), batch_size=-1, as_supervised=True
        )
    except (tf.errors.OpError, OSError, ValueError) as error:  # a truncated or edited prepared file
        raise CganError(
            f"the prepared {builder.name} in {builder.data_dir} is unreadable "
            f"({first_line(error)}); "
            f"delete that folder and {builder.name} is prepared again from the original files"
        ) from None
    return images.numpy(), labels.numpy()


def _tfds_spec(source):
    builder = _tfds_builder(source)  # the info is known before anything is downloaded
    names = tuple(builder.info.features["label"].names)
    return DatasetSpec(source.dataset, tuple(builder.info.features["image"].shape), names)


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
        images, labels = _tfds_arrays(source, split)
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
    dataset = dataset.map(lambda x, y: (to_unit_range(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    if step_inputs is not None:
        dataset = dataset.enumerate(start=skip_batches).map(
            lambda number, batch: step_inputs(number, *batch), num_parallel_calls=tf.data.AUTOTUNE
        )
    return dataset.prefetch(tf.data.AUTOTUNE)
