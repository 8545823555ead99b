"""A tensorflow-datasets dataset (--dataset=NAME): prepared once from its original files in a
local folder or by download, each split read into uint8 arrays and kept decoded beside the
prepared files (cgan-decoded-<split>.npz, made again when they change); cgan.data serves it like
any other."""

import hashlib
import json
import os
import re
import socket
import urllib.parse
import zipfile

import numpy as np
import tensorflow as tf

from cgan.errors import CganError, first_line
from cgan.files import atomic_path

EXAMPLE_DATASETS = "mnist, fashion_mnist, kmnist, emnist/digits, cifar10"
DECODED_PREFIX = "cgan-decoded-"  # a split's arrays beside tfds' prepared files, ours


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


def builder_of(source):
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

    builder = builder_of(source)
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


def _prepared_files(folder):
    """What identifies the prepared files in `folder`: each one's name, size and mtime."""
    return json.dumps(
        sorted(
            (entry.name, entry.stat().st_size, entry.stat().st_mtime_ns)
            for entry in os.scandir(folder)
            if entry.is_file() and not entry.name.startswith(DECODED_PREFIX)
        )
    )


def _decoded(path, prepared):
    """(images, labels) from the decoded copy at `path`, or None if it is missing, unreadable or
    made from other prepared files."""
    try:
        with np.load(path) as stored:
            if str(stored["prepared"]) == prepared:
                return stored["images"], stored["labels"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        pass  # decoded again below
    return None


def arrays(source, split):
    """A split as arrays, from a decoded copy kept beside the prepared files: decoding MNIST's
    60,000 PNGs again would take every run seconds."""
    builder = _prepared_builder(source)
    path = os.path.join(builder.data_dir, f"{DECODED_PREFIX}{split}.npz")
    prepared = _prepared_files(builder.data_dir)
    found = _decoded(path, prepared)
    if found is not None:
        return found
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
    images, labels = images.numpy(), labels.numpy()
    try:
        with atomic_path(path) as temporary:
            np.savez(temporary, images=images, labels=labels, prepared=prepared)
    except OSError:
        pass  # a read-only or full data folder: decoded again next time
    return images, labels


def shape_and_classes(source):
    """(image shape, class names) of source.dataset, known before anything is downloaded."""
    builder = builder_of(source)
    return tuple(builder.info.features["image"].shape), tuple(builder.info.features["label"].names)
