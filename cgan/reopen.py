"""Reopening a trained generator, for every mode that draws, scores or exports and for cgan.load:
a .keras file's, or a run folder's (its exported file, or the latest checkpoint of a run stopped
before its end, from which only the generator's weights are read)."""

import os

import keras
import tensorflow as tf

from cgan import checkpoints, data, registry, runfolder, runtime
from cgan import generator as generator_file
from cgan.context import from_generator, resolve
from cgan.errors import CganError, first_line
from cgan.generator import Generator


def reopen(target, raw=False, verbose=None) -> Generator:
    """The generator in `target`: a .keras file cgan wrote (its .json beside it) or a run
    folder, with its plugins imported again. A run stopped before its end gives its latest
    checkpoint's generator (saying so when `verbose`; by default, when the run was verbose).
    With `raw`, a run's generator before weight averaging, which a run with EMA keeps."""
    target = os.fspath(target)
    if target.endswith(".keras"):
        return generator_file.read(target)
    if not os.path.isdir(target):
        raise CganError(f"{target} is neither a run folder nor a .keras file")
    runfolder.import_recorded(target)  # a run folder needs its plugins; one gone is named
    files = runfolder.RunFiles(target)
    newer = newer_checkpoint(files)
    if newer is not None:
        return _from_checkpoint(target, newer, raw, verbose)
    path = files.raw_generator if raw else files.generator
    if not os.path.exists(path):
        if raw:
            raise CganError(
                f"no raw generator in {target}: only runs trained with --ema or "
                "--ema_half_life have one"
            )
        raise CganError(f"no trained generator in {target}; train it first with --mode=train")
    remedy = (
        "delete it and run --mode=train with the same flags to export it again "
        "from the last checkpoint"
    )
    if os.path.exists(files.generator_facts):
        return generator_file.read(files.generator, model_path=path, remedy=remedy)
    # A run older than generator.json: its facts come from run.json.
    context = resolve(runfolder.read_config(target, "generate"))
    return Generator.of(generator_file.read_keras(path, remedy), context)


def opened(config, raw=False):
    """(context, Generator) of what `config` draws from, scores or exports: --generator's file,
    or the run in its folder, refused if that holds another model than `config` names."""
    if config.generator:
        found = reopen(config.generator)
        return from_generator(config, found), found
    context = resolve(config)
    data.check_label(context.source, config.digit)
    runfolder.check_same_model(context)
    return context, reopen(context.files.dir, raw, verbose=config.verbose)


def has_raw_generator(folder):
    """Whether the run in `folder` keeps a generator before weight averaging (it trained with
    EMA)."""
    files = runfolder.RunFiles(folder)
    if newer_checkpoint(files) is None:
        return os.path.exists(files.raw_generator)
    return bool(runfolder.read_config(folder, "train").recipe.averages)


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


def _from_checkpoint(folder, path, raw, verbose):
    """The generator to draw with (the weight average with EMA; with `raw`, the generator
    itself) in checkpoint `path` of the run in `folder`: its networks rebuilt as that run built
    them (its run.json), and only their weights read, not the optimizers' or the critic's."""
    context = resolve(runfolder.read_config(folder, "train"))
    config, recipe, spec = context.config, context.recipe, context.spec
    verbose = config.verbose if verbose is None else verbose
    if raw and not recipe.averages:
        raise CganError(
            f"no raw generator in {folder}: only runs trained with --ema or --ema_half_life "
            "have one"
        )
    with runtime.compute_dtype(config.mixed_precision):
        generator, _ = registry.get(config.arch).networks(
            spec.image_shape, config.latent_dim, spec.num_classes, recipe
        )
    # Named as cgan.trainer_state's checkpoint names them: the objects are matched by name.
    parts = dict(generator=generator)
    if recipe.averages:
        parts["ema_generator"] = keras.models.clone_model(generator)
    try:
        tf.train.Checkpoint(**parts).restore(
            path
        ).expect_partial().assert_existing_objects_matched()
    except Exception as error:  # OpError (checksums, short reads), AssertionError, ...
        raise CganError(
            f"cannot read the generator from {path}: {first_line(error)}; delete "
            f"{os.path.basename(path)}.* to draw from the checkpoint before it"
        ) from None
    step = checkpoints.checkpoint_step(path)
    if verbose and not raw:
        print(
            f"{folder} was stopped before its end: drawing from its latest "
            f"checkpoint, {os.path.basename(path)} (step {step})"
        )
    model = parts["generator"] if raw else parts.get("ema_generator", generator)
    return Generator.of(model, context, step)
