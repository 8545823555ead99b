"""What a generator draws: grid, interpolation and sweep inputs, sample sets, and the .npz
files samples are exported to and scored from."""

import os
import zipfile

import keras
import numpy as np

from cgan import data
from cgan.errors import CganError
from cgan.files import atomic_path
from cgan.plotting import save_grid

GRID_SIDE = 10  # grids are 10 x 10 (MNIST): for a conditional model, row k shows label k


def grid_inputs(context, digit, count=GRID_SIDE * GRID_SIDE):
    """Fixed noise and labels for a grid, and its number of rows: the same for every epoch and
    every resume.

    Conditional, all labels: row k is label k and each column keeps one noise vector, so
    style is held across labels (count // K columns, at least one). Otherwise `count`
    distinct samples, GRID_SIDE to a row when they fill whole rows.
    """
    config = context.config
    rng = np.random.default_rng(config.seed)
    if context.conditional and digit is None:
        num_classes = context.num_classes
        columns = max(count // num_classes, 1)
        noise = np.tile(rng.standard_normal((columns, config.latent_dim)), (num_classes, 1))
        labels = np.repeat(np.arange(num_classes), columns)
        rows = num_classes
    else:
        noise = rng.standard_normal((count, config.latent_dim))
        labels = np.full(count, digit if digit is not None else 0)
        rows = GRID_SIDE if count % GRID_SIDE == 0 else 1
    return noise.astype(np.float32), labels.astype(np.int32), rows


def draw(generator, noise, labels, batch_size=500, progress=False):
    """Runs the generator in inference mode; returns uint8 images (N, H, W, C). With `progress`,
    under a progress bar."""
    bar = keras.utils.Progbar(len(noise), unit_name="image") if progress else None
    images = []
    for i in range(0, len(noise), batch_size):
        images.append(
            generator([noise[i : i + batch_size], labels[i : i + batch_size]], training=False)
        )
        if bar is not None:
            bar.update(min(i + batch_size, len(noise)))
    return data.to_uint8(np.concatenate(images))


def slerp(start, end, fractions):
    """Spherical interpolation from noise vector `start` to `end`, one row per fraction in [0, 1].

    Gaussian noise lies near a sphere; the straight line between two points cuts inside it,
    where the generator has seen little noise, so the middle images fade (White 2016).
    """
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    fractions = np.asarray(fractions, np.float64)[:, None]
    cosine = np.dot(start, end) / (np.linalg.norm(start) * np.linalg.norm(end))
    angle = np.arccos(np.clip(cosine, -1.0, 1.0))
    if (
        np.sin(angle) < 1e-6
    ):  # (anti)parallel: every great circle fits, the straight line is as good
        return (1 - fractions) * start + fractions * end
    return (np.sin((1 - fractions) * angle) * start + np.sin(fractions * angle) * end) / np.sin(
        angle
    )


def drawing_inputs(context):
    """Noise, labels and the number of rows of the picture config.draw asks for.

    grid: config.num_samples images of config.digit (all labels: row k is label k).
    interpolation: ten steps between two noise vectors; a conditional model without --digit
    walks the same path once per label, one row each.
    sweep (conditional only): ten noise vectors, one per row, each drawn as every label in turn.
    """
    config = context.config
    if config.draw == "grid":
        return grid_inputs(context, config.digit, config.num_samples)
    rng = np.random.default_rng(config.seed)
    num_classes = context.num_classes if context.conditional else 1
    if config.draw == "interpolation":
        start, end = rng.standard_normal((2, config.latent_dim))
        path = slerp(start, end, np.linspace(0.0, 1.0, GRID_SIDE))
        if context.conditional and config.digit is None:
            digits = range(num_classes)  # the same walk once per label: style held down the columns
        else:
            digits = [config.digit or 0]  # the digit asked for; unconditional models ignore it
        noise = np.tile(path, (len(digits), 1))
        labels = np.repeat(digits, GRID_SIDE)
        return noise.astype(np.float32), labels.astype(np.int32), len(digits)
    styles = rng.standard_normal((GRID_SIDE, config.latent_dim))
    noise = np.repeat(styles, num_classes, axis=0)
    labels = np.tile(np.arange(num_classes), GRID_SIDE)
    return noise.astype(np.float32), labels.astype(np.int32), GRID_SIDE


def row_names(context, digit):
    """The class names of the rows of a conditional model's grid of every label (rows = classes),
    when they say more than the row numbers (Fashion-MNIST, not MNIST); else None."""
    if not context.conditional or digit is not None:
        return None
    names = context.spec.class_names
    return None if list(names) == [str(label) for label in range(len(names))] else names


def draw_requested(context, generator):
    """Draws the picture config.draw asks for (one label, all of them, a walk or a sweep) into the
    run folder; returns its path."""
    config = context.config
    noise, labels, rows = drawing_inputs(context)
    path = context.files.drawing(config.draw, context.conditional, config.digit)
    names = (
        None if config.draw == "sweep" else row_names(context, config.digit)
    )  # a sweep's rows are styles
    save_grid(draw(generator, noise, labels), rows, path, names)
    return path


def sample_set(context, generator, count, digit):
    """`count` fresh samples: images uint8 (N, H, W, C) and labels (conditional) or None.

    A conditional model without `digit` draws the digits in their training-set shares, in
    label order: scored against real digits, equal shares would cost FID that is no fault of
    the generator.
    """
    config = context.config
    rng = np.random.default_rng(config.seed + 1)  # not the grid's noise: fresh samples
    noise = rng.standard_normal((count, config.latent_dim)).astype(np.float32)
    if not context.conditional:
        labels = np.zeros(count, np.int32)
    elif digit is None:
        labels = data.labels_in_proportion(count, data.label_shares(context.source))
    else:
        labels = np.full(count, digit, np.int32)
    images = draw(generator, noise, labels, progress=config.verbose)
    return images, (labels.astype(np.int64) if context.conditional else None)


def export_samples(context, generator, path):
    """Writes `images` uint8 (N, H, W), or (N, H, W, 3) in colour, and, for a conditional model,
    `labels` int (N,) to .npz.

    With export_format npz_and_png, also a folder beside it (the path without .npz)
    with one PNG per image, for tools such as torch-fidelity or clean-fid.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CganError(f"--export {path!r}: folder {directory} does not exist")
    config = context.config
    images, labels = sample_set(context, generator, config.num_samples, config.digit)
    if images.shape[-1] == 1:
        images = images[..., 0]  # grayscale as (N, H, W), as MNIST is stored
    arrays = dict(images=images) if labels is None else dict(images=images, labels=labels)
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)
    written = [path]
    if config.export_format == "npz_and_png":
        written.append(_export_pngs(images, labels, path[: -len(".npz")]))
    return written


def _export_pngs(images, labels, folder):
    import matplotlib.image

    os.makedirs(folder, exist_ok=True)
    for index, image in enumerate(images):
        suffix = "" if labels is None else f"_digit{labels[index]}"
        with atomic_path(os.path.join(folder, f"{index:06d}{suffix}.png")) as tmp:
            matplotlib.image.imsave(
                tmp, image, cmap="gray", vmin=0, vmax=255, format="png"
            )  # cmap: gray only
    return folder


def read_samples(path, spec):
    """Reads an .npz in the export format for images of `spec`'s dataset; anything else is
    refused with one line."""
    try:
        with np.load(path) as stored:
            images = stored["images"]
            labels = stored["labels"] if "labels" in stored else None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise CganError(
            f"--samples {path!r} is not a readable .npz with an 'images' array ({error})"
        ) from None
    height, width, channels = spec.image_shape
    shape = (height, width) if channels == 1 else (height, width, channels)
    if images.dtype != np.uint8 or images.shape[1:] != shape:
        wanted = ", ".join(map(str, ("N",) + shape))
        raise CganError(
            f"--samples {path!r}: 'images' must be uint8 ({wanted}) for {spec.name}, "
            f"got {images.dtype} {images.shape}"
        )
    if labels is not None and (
        labels.shape != (len(images),) or labels.min() < 0 or labels.max() >= spec.num_classes
    ):
        raise CganError(
            f"--samples {path!r}: 'labels' must be N integers in 0..{spec.num_classes - 1}"
        )
    return images, labels
