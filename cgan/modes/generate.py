"""Generate mode: draws the picture asked for from a run's generator (or a .keras file's) and
exports samples."""

import os

from cgan import sampling
from cgan.files import locked_folder
from cgan.reopen import opened


def generate(config):
    """Draws the requested picture from a trained run (or --generator's file) and, with --export,
    writes an .npz of samples.

    Returns the paths written.
    """
    if config.generator:
        context, generator = opened(config)
        os.makedirs(context.files.dir, exist_ok=True)
        return _draw(context, generator.model)
    with locked_folder(config.run_dir):  # not while a run is replacing the generator
        context, generator = opened(config)
        return _draw(context, generator.model)


def _draw(context, model):
    written = [sampling.draw_requested(context, model)]
    if context.config.export:
        written += sampling.export_samples(context, model, context.config.export)
    return written
