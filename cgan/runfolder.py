"""The run folder: the names of everything a run writes, its run.json, and the check that a
folder holds the same model (and, to resume, the same training) as the Config asks for."""

import dataclasses
import glob
import os
import shutil

from cgan import arrays, plugins, registry
from cgan.config import Config
from cgan.errors import CganError
from cgan.files import read_json, write_json
from cgan.validation import COMPARE_ONLY, SPEED_SWITCHES


class RunFiles:
    """The names of everything a run writes in its output folder."""

    def __init__(self, run_dir):
        self.dir = run_dir
        self.config = os.path.join(run_dir, "run.json")
        self.checkpoints = os.path.join(run_dir, "checkpoints")
        self.generator = os.path.join(run_dir, "generator.keras")
        self.raw_generator = os.path.join(
            run_dir, "generator_raw.keras"
        )  # written only when EMA is on
        self.generator_facts = os.path.join(run_dir, "generator.json")  # see cgan.generator
        self.saved_model = os.path.join(run_dir, "saved_model")  # written by export mode
        self.tflite = os.path.join(run_dir, "generator.tflite")
        self.history = os.path.join(run_dir, "history.csv")
        self.history_plot = os.path.join(run_dir, "losses.png")
        self.tensorboard = os.path.join(run_dir, "tensorboard")
        self.progress_gif = os.path.join(run_dir, "training.gif")
        self.metrics = os.path.join(run_dir, "metrics.json")
        self.confusion_matrix = os.path.join(run_dir, "confusion_matrix.png")

    def epoch_grid(self, epoch):
        return os.path.join(self.dir, f"image_at_epoch_{epoch:04d}.png")

    def epoch_grids(self):
        """[(epoch, path)] of the per-epoch grids written so far, in epoch order."""
        paths = sorted(
            glob.glob(
                os.path.join(glob.escape(self.dir), "image_at_epoch_[0-9][0-9][0-9][0-9].png")
            )
        )
        return [(int(path[-8:-4]), path) for path in paths]

    def final_grid(self, conditional, digit):
        """digit_<k>.png or digits.png (all ten) for conditional models, samples.png otherwise."""
        if not conditional:
            return os.path.join(self.dir, "samples.png")
        return os.path.join(self.dir, "digits.png" if digit is None else f"digit_{digit}.png")

    def drawing(self, draw, conditional, digit):
        """Where the picture `draw` asks for goes: the final grid, interpolation[_<k>].png or
        sweep.png."""
        if draw == "grid":
            return self.final_grid(conditional, digit)
        if draw == "interpolation" and conditional and digit is not None:
            return os.path.join(self.dir, f"interpolation_{digit}.png")
        return os.path.join(self.dir, f"{draw}.png")

    def saved_config(self):
        """The config the run was started with, or None for a new run."""
        if not os.path.exists(self.config):
            return None
        return read_json(self.config)

    def clear(self):
        """Deletes what a run wrote here (checkpoints first, run.json last, so a crash midway
        leaves nothing to resume from); files the run did not write stay."""
        pictures = [
            "image_at_epoch_[0-9][0-9][0-9][0-9].png",
            "digit_[0-9].png",
            "digits.png",
            "samples.png",
            "interpolation.png",
            "interpolation_[0-9].png",
            "sweep.png",
        ]
        paths = [
            self.checkpoints,
            self.tensorboard,
            self.generator,
            self.raw_generator,
            self.generator_facts,
            self.saved_model,
            self.tflite,
            self.history,
            self.history_plot,
            self.progress_gif,
            self.metrics,
            self.confusion_matrix,
        ]
        paths += sorted(
            p
            for pattern in pictures
            for p in glob.glob(os.path.join(glob.escape(self.dir), pattern))
        )
        for path in paths + [self.config]:
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.remove(path)


SHAPE_FIELDS = (
    "arch",
    "latent_dim",
    "dataset",
    "image_size",
)  # a checkpoint only fits models built with these
# With the recipe: what a run's checkpoints were trained with. (float16 adds a loss scale to the
# optimizers' checkpoint; a run.json older than --mixed_precision means "off".)
TRAINING_FIELDS = ("seed", "batch_size", "mixed_precision")


def check_same_model(context, training=False):
    """Refuses (CganError) a run folder that holds a model of another shape or training digit;
    with `training`, also one trained with another seed, batch size or recipe, which a resume
    would silently mix with this config's."""
    config, files = context.config, context.files
    saved = files.saved_config()
    if saved is None:
        return
    shapes = {
        name: saved.get(name, getattr(Config, name)) for name in SHAPE_FIELDS
    }  # older run.json: MNIST
    found = [
        f"a run with {name}={value!r}, not {getattr(config, name)!r}"
        for name, value in shapes.items()
        if value != getattr(config, name)
    ]
    if saved.get("train_digit") != context.train_digit:
        found.append(
            f"a model trained on digit {saved.get('train_digit')}, not {context.train_digit}"
        )
    if training:
        trained = {name: saved.get(name, getattr(Config, name)) for name in TRAINING_FIELDS}
        found += [
            f"a run trained with {name}={value!r}, not {getattr(config, name)!r}"
            for name, value in trained.items()
            if value != getattr(config, name)
        ]
        # A recipe field newer than the run has its default: what every run before it trained with.
        defaults = {field.name: field.default for field in dataclasses.fields(registry.Recipe)}
        saved_recipe = {**defaults, **saved["recipe"]} if saved.get("recipe") else {}
        recipe = dataclasses.asdict(context.recipe)
        found += [
            f"a run trained with {name}={saved_recipe[name]!r}, not {recipe[name]!r}"
            for name in recipe
            if name in saved_recipe and saved_recipe[name] != recipe[name]
        ]
    if found:
        hint = "choose another --output_dir" + (
            ", or give --overwrite to start over" if training else ""
        )
        raise CganError(f"{files.dir} holds {'; '.join(found)}; {hint}")


def recorded_plugins(config):
    """The plugins a run made with `config` in this process records: its --import modules and
    every other one the process imported (cgan.import_plugins, entry points)."""
    return list(dict.fromkeys([*map(plugins.spec_of, config.imports), *plugins.imported()]))


def write_run_json(context, dtype_policy, op_determinism):
    """Writes run.json: the Config, the plugins imported, the digit it trains on, the recipe, the
    Keras dtype policy the networks compute in (what --mixed_precision=auto chose), the
    strategy's replicas and whether TensorFlow's op determinism was on, for later checks; for
    in-memory data, its fingerprint, shape, classes and class shares (cgan.arrays), which drawing
    needs."""
    config, source = context.config, context.source
    facts = dict(data=arrays.described(source).facts()) if source.arrays else {}
    write_json(
        context.files.config,
        dict(
            dataclasses.asdict(config),
            imports=recorded_plugins(config),
            train_digit=context.train_digit,
            recipe=dataclasses.asdict(context.recipe),
            dtype_policy=dtype_policy,
            replicas=context.strategy.num_replicas_in_sync,
            op_determinism=op_determinism,
            **facts,
        ),
    )


def for_mode(config, mode):
    """`config` for drawing from or scoring its run in `mode`: without --overwrite, the speed
    switches and the compare-only fields, which only training (or comparing) takes."""
    defaults = {name: getattr(Config, name) for name in SPEED_SWITCHES + COMPARE_ONLY}
    return dataclasses.replace(config, mode=mode, overwrite=False, **defaults)


def read_config(folder, mode):
    """The Config a run folder was trained with (its run.json), for `mode`, with its files in
    `folder` wherever the folder has moved; with `mode` "train", as it trained (speed switches
    included). Its data folders are kept where they exist on this machine."""
    saved = RunFiles(folder).saved_config()
    if saved is None:
        raise CganError(f"{folder} holds no run (no run.json); train one there first")
    plugins.reimport(saved.get("imports"), folder)  # before the Config checks its --arch
    here = ("output_dir", "export", "samples", "generator")  # what another command chose
    data = ("mnist_dir", "manual_dir", "data_dir")
    kept = [
        name
        for name in (field.name for field in dataclasses.fields(Config))
        if name in saved
        and name not in here
        and (name not in data or (saved[name] and os.path.isdir(saved[name])))
    ]
    values = {
        name: tuple(saved[name]) if isinstance(saved[name], list) else saved[name] for name in kept
    }
    config = Config(**dict(values, mode="train", output_dir=folder))
    return config if mode == "train" else for_mode(config, mode)


# What identifies a run's model (with the data folders that find its dataset): a command on the
# folder takes them from its run.json unless it gives them.
MODEL_FIELDS = SHAPE_FIELDS + ("imports", "mnist_dir", "manual_dir", "data_dir")


def model_fields(folder):
    """{field: value} of the model the run in `folder` trained, for the fields MODEL_FIELDS
    names (data folders only where they exist here) and, for an unconditional model, the digit
    it trained on; {} when the folder holds no run. Its plugins are imported."""
    saved = RunFiles(folder).saved_config() if folder else None
    if saved is None:
        return {}
    plugins.reimport(saved.get("imports"), folder)
    fields = {
        name: tuple(saved[name]) if isinstance(saved[name], list) else saved[name]
        for name in MODEL_FIELDS
        if name in saved
        and (name not in ("mnist_dir", "manual_dir", "data_dir") or _here(saved[name]))
    }
    if saved.get("train_digit") is not None:
        fields["digit"] = saved["train_digit"]
    return fields


def _here(path):
    return bool(path) and os.path.isdir(path)


def import_recorded(folder):
    """Imports the plugins the run (run.json) or comparison (compare.json) in `folder` recorded,
    if it holds one: a later command on it needs the architectures they register."""
    for name in ("run.json", "compare.json"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            plugins.reimport(read_json(path).get("imports"), folder)
