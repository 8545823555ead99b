"""A dataset of one's own: a folder of image files with one sub-folder per class
(--dataset=folder:PATH), read into uint8 arrays; cgan.data serves it like any other."""

import os

import numpy as np

from cgan.errors import CganError, first_line

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")  # what Pillow reads
TEST_EVERY = 10  # every 10th image of each class is held out as the test split


def _classes(folder):
    """[(class name, [image paths])] of folder/<class>/<image>, classes and files in name order."""
    if not os.path.isdir(folder):
        raise CganError(f"--dataset=folder:{folder}: not a readable folder")
    classes = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if os.path.isdir(path):
            files = sorted(f for f in os.listdir(path) if f.lower().endswith(IMAGE_SUFFIXES))
            classes.append((name, [os.path.join(path, f) for f in files]))
    empty = [name for name, files in classes if not files]
    if len(classes) < 2 or empty:
        problem = (
            f"class folders without images: {', '.join(empty)}"
            if empty
            else f"{len(classes)} class folders"
        )
        raise CganError(
            f"--dataset=folder:{folder} needs one sub-folder of images "
            f"({', '.join(IMAGE_SUFFIXES)}) per class, at least two; found {problem}"
        )
    return classes


def read_image(path, channels=None):
    """uint8 (H, W, C) of one image file, converted to `channels` (1 or 3; None: the file's,
    alpha dropped)."""
    from PIL import Image, UnidentifiedImageError  # Pillow comes with matplotlib

    try:
        with Image.open(path) as image:
            if channels is None:
                channels = 1 if image.mode in ("1", "L", "LA", "I", "I;16", "F") else 3
            pixels = np.asarray(image.convert("L" if channels == 1 else "RGB"))
    except (OSError, UnidentifiedImageError) as error:
        raise CganError(f"cannot read image {path!r}: {first_line(error)}") from None
    return pixels.reshape(*pixels.shape[:2], channels)


def arrays(source, split, resize):
    """The folder's images, every TEST_EVERY-th of each class in "test" and the rest in "train";
    with source.image_size, each passed through `resize(images, size)` as it is read, since the
    files may differ in size."""
    classes = _classes(source.folder)
    channels = read_image(classes[0][1][0]).shape[-1]  # the first image decides: gray or colour
    images, labels = [], []
    for label, (_, files) in enumerate(classes):
        for index, path in enumerate(files):
            if (index % TEST_EVERY == TEST_EVERY - 1) == (split == "test"):
                image = read_image(path, channels)
                if source.image_size is not None:
                    image = resize(image[None], source.image_size)[0]
                images.append(image)
                labels.append(label)
    if not images:
        raise CganError(
            f"--dataset=folder:{source.folder} has no {split} images: it keeps every "
            f"{TEST_EVERY}th image of a class for testing, so each class needs {TEST_EVERY}"
        )
    sizes = sorted({image.shape[:2] for image in images})
    if len(sizes) > 1:
        raise CganError(
            f"--dataset=folder:{source.folder} holds images of {len(sizes)} sizes "
            f"({sizes[0]}, {sizes[-1]}, ...); give --image_size=S to resize them all to S x S"
        )
    return np.stack(images), np.asarray(labels)


def shape_and_classes(source):
    """(the first image's shape (H, W, C), the class names): what the dataset's spec needs."""
    classes = _classes(source.folder)
    return read_image(classes[0][1][0]).shape, tuple(name for name, _ in classes)
