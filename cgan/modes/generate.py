"""Generate mode: loads a finished run's generator, draws the picture asked for, exports samples."""

import os
import zipfile

import keras

from cgan import data, runfolder, sampling
from cgan.context import resolve
from cgan.errors import CganError, first_line
from cgan.files import locked_folder


def load_generator(context, raw=False):
    """The exported generator of a finished run (Keras safe mode: no arbitrary code); with `raw`,
    the generator before weight averaging, which a run with EMA exports beside it."""
    files = context.files
    path = files.raw_generator if raw else files.generator
    if not os.path.exists(path):
        if raw:
            raise CganError(
                f"no raw generator in {files.dir}: only runs trained with --ema > 0 have one"
            )
        raise CganError(f"no trained generator in {files.dir}; train it first with --mode=train")
    runfolder.check_same_model(context)
    remedy = (
        "delete it and run --mode=train with the same flags to export it again "
        "from the last checkpoint"
    )
    if not zipfile.is_zipfile(path):  # Keras would call a cut-short file "not found"
        raise CganError(f"cannot load {path}: not a whole .keras (zip) file, truncated?; {remedy}")
    try:
        return keras.models.load_model(path, safe_mode=True, compile=False)
    except (
        Exception
    ) as error:  # a tampered file, or one asking to run code: report it, never retrain silently
        raise CganError(f"cannot load {path}: {first_line(error)}; {remedy}") from None


def generate(config):
    """Draws the requested picture from a trained run and, with --export, writes an .npz of samples.

    Returns the paths written.
    """
    context = resolve(config)
    data.check_label(context.source, config.digit)
    with locked_folder(context.files.dir):  # not while a run is replacing the generator
        generator = load_generator(context)
        written = [sampling.draw_requested(context, generator)]
        if config.export:
            written += sampling.export_samples(context, generator, config.export)
    return written
