"""Generate mode: loads a run's generator (or a .keras file's), draws the picture asked for,
exports samples."""

import os

import tensorflow as tf

from cgan import checkpoints, data, runfolder, sampling
from cgan import generator as generator_file
from cgan.context import from_generator, resolve
from cgan.errors import CganError
from cgan.files import locked_folder


def load_generator(context, raw=False):
    """The generator of the context's run: its exported file (Keras safe mode: no arbitrary
    code) or, for a run stopped before its end, its latest checkpoint's (saying so). With `raw`,
    the generator before weight averaging, which a run with EMA keeps beside it."""
    files = context.files
    path = files.raw_generator if raw else files.generator
    newer = newer_checkpoint(files)
    if newer is None and os.path.exists(path):
        runfolder.check_same_model(context)
        remedy = (
            "delete it and run --mode=train with the same flags to export it again "
            "from the last checkpoint"
        )
        return generator_file.read_keras(path, remedy)
    if newer is None:
        if raw:
            raise CganError(
                f"no raw generator in {files.dir}: only runs trained with --ema > 0 have one"
            )
        raise CganError(f"no trained generator in {files.dir}; train it first with --mode=train")
    runfolder.check_same_model(context)
    return from_checkpoint(files.dir, newer, raw, verbose=context.config.verbose)


def has_raw_generator(context):
    """Whether the run keeps a generator before weight averaging (it trained with EMA)."""
    if newer_checkpoint(context.files) is None:
        return os.path.exists(context.files.raw_generator)
    return bool(runfolder.read_config(context.files.dir, "train").recipe.ema)


def newer_checkpoint(files):
    """The latest checkpoint when it is newer than the exported generator (or there is none):
    the run was stopped before its end. Else None."""
    if not os.path.isdir(files.checkpoints):
        return None
    latest = tf.train.latest_checkpoint(files.checkpoints)
    if latest is None:
        return None
    if os.path.exists(files.generator):
        exported = generator_file.exported_step(files.generator)
        if exported is None or checkpoints.checkpoint_step(latest) <= exported:
            return None  # a run older than the step record, or one that ended here
    return latest


def from_checkpoint(folder, path, raw=False, verbose=True):
    """The generator to draw with (the weight average with EMA; with `raw`, the generator
    itself) as saved in checkpoint `path` of the run in `folder`, rebuilt as that run trained
    (its run.json), so that every saved object finds its place."""
    from cgan.modes.train import build_trainer

    trained = resolve(runfolder.read_config(folder, "train"), tf.distribute.get_strategy())
    trainer = build_trainer(trained)
    seconds = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="seconds")
    checkpoints.restore(trainer.checkpoint(seconds=seconds), path)
    if raw and trainer.ema_generator is None:
        raise CganError(f"no raw generator in {folder}: only runs trained with --ema > 0 have one")
    if verbose and not raw:
        print(
            f"{folder} was stopped before its end: drawing from its latest "
            f"checkpoint, {os.path.basename(path)} (step {int(trainer.step.numpy())})"
        )
    return trainer.generator if raw else trainer.sampler


def loaded(config):
    """(context, Keras generator) of what `config` draws from: --generator's file, or the run."""
    if config.generator:
        found = generator_file.read(config.generator)
        return from_generator(config, found), found.model
    context = resolve(config)
    data.check_label(context.source, config.digit)
    return context, load_generator(context)


def generate(config):
    """Draws the requested picture from a trained run (or --generator's file) and, with --export,
    writes an .npz of samples.

    Returns the paths written.
    """
    if config.generator:
        context, model = loaded(config)
        os.makedirs(context.files.dir, exist_ok=True)
        return _draw(context, model)
    context = resolve(config)
    data.check_label(context.source, config.digit)
    with locked_folder(context.files.dir):  # not while a run is replacing the generator
        return _draw(context, load_generator(context))


def _draw(context, model):
    written = [sampling.draw_requested(context, model)]
    if context.config.export:
        written += sampling.export_samples(context, model, context.config.export)
    return written
