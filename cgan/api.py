"""The Python API: train, load, evaluate, compare and export as run.py does them, returning
Python data. Nothing prints but progress (verbose=False: nothing at all)."""

import dataclasses
import os
from typing import Optional

from cgan import arrays, history, plugins, runfolder, runtime
from cgan.config import Config
from cgan.errors import CganError
from cgan.generator import Generator


def make_config(config=None, **fields):
    """`config` (default: Config()) with `fields` replaced, validated as run.py's flags are; a
    budget given here replaces the config's other budget, as on the command line."""
    base = config if config is not None else Config()
    if not isinstance(base, Config):
        raise CganError(f"expected a cgan.Config, got {type(base).__name__}")
    unknown = sorted(set(fields) - {field.name for field in dataclasses.fields(Config)})
    if unknown:
        raise CganError(f"unknown option(s) {', '.join(unknown)}; see help(cgan.Config)")
    # Before the Config checks its fields: the plugins may register the --arch asked for.
    imports = plugins.import_plugins(*fields.pop("imports", None) or ())
    if imports:
        fields["imports"] = tuple(imports)
    folder = fields.get("output_dir", base.output_dir)
    if folder and not fields.get("overwrite", base.overwrite):  # a run it goes on with
        runfolder.import_recorded(folder)
    if "budget_images" in fields or "budget_seconds" in fields:
        fields = dict(dict(budget_images=None, budget_seconds=None), **fields)
    fields = {
        name: tuple(value) if isinstance(value, list) else value for name, value in fields.items()
    }
    return dataclasses.replace(base, **fields)


@dataclasses.dataclass(frozen=True)
class Run:
    """A trained run: its folder, its Config, the picture it drew, its history and generator."""

    config: Config
    picture: Optional[str]  # the grid (or walk, or sweep) drawn at the end

    @property
    def folder(self) -> str:
        return self.config.run_dir

    @property
    def history(self) -> list:
        """history.csv as rows of numbers: step, epoch, images_seen, seconds, the losses (and the
        scores of --eval_every), one row per --log_every steps."""
        return [
            {name: _number(value) for name, value in row.items()}
            for row in history.read(runfolder.RunFiles(self.folder).history)
        ]

    @property
    def generator(self) -> Generator:
        """The run's trained generator (cgan.load of its folder)."""
        return load(self.folder)


def _number(text):
    if text in (None, ""):
        return float("nan")
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text else value


def train(config=None, dataset=None, test=None, class_names=None, callbacks=(), **fields):
    """Trains, resumes or reuses a run exactly as `python run.py` does (keyword arguments are
    Config fields: cgan.train(arch="cgan", epochs=1)); returns its Run.

    `dataset` is what --dataset takes (a tensorflow-datasets name or "folder:PATH"), or your own
    data in memory, as the TensorFlow tutorial's train(dataset, EPOCHS): `(images, labels)` numpy
    arrays, or a finite tf.data.Dataset of (image, label), batched or not, read once into memory.
    Images are (N, H, W) or (N, H, W, C) with 1 or 3 channels: integer pixels in 0..255, or
    floats in [0, 1], or in [-1, 1] (any negative value says which); labels are integer classes
    0..K-1. `test` (the same forms) is the judge's held-out split; without it, every 10th image
    of each class is held out (and not trained on). `class_names` names the K classes (default
    "0".."K-1"). The run's Config names such data `arrays:<fingerprint>`, and run.json records
    its fingerprint, shape and classes: a folder holding a run on other data is refused, and the
    folder can be drawn from later without the data. cgan.arrays says what is checked. (With
    cpu_devices > 1, call cgan.runtime.configure(cgan.Config(cpu_devices=N)) before making a
    tf.data.Dataset: TensorFlow fixes its devices when it first runs.)

    `callbacks`: keras.callbacks.Callback objects or names of registered ones (--callbacks,
    cgan.register_callback), called as Keras's fit calls them (train and
    epoch begin and end, batch end with the losses in `logs`; `self.model` is the generator). A
    number one adds to the epoch end's `logs` is logged in history.csv and TensorBoard, and
    `self.model.stop_training = True` (EarlyStopping) ends training with a checkpoint: the same
    call later resumes it.
    """
    import keras

    if dataset is not None and not isinstance(dataset, str):
        fields["dataset"] = arrays.register(dataset, test, class_names)
    elif test is not None or class_names is not None:
        raise CganError("test= and class_names= go with in-memory data: dataset=(images, labels)")
    elif dataset is not None:
        fields["dataset"] = dataset
    named = tuple(callback for callback in callbacks if isinstance(callback, str))
    if named:
        fields["callbacks"] = (*fields.get("callbacks", ()), *named)
    config = make_config(config, mode="train", **fields)
    objects = [callback for callback in callbacks if not isinstance(callback, str)]
    for callback in objects:
        if not isinstance(callback, keras.callbacks.Callback):
            raise CganError(
                "callbacks: expected keras.callbacks.Callback objects or registered names, got "
                f"{callback!r}"
            )
    return Run(config, _run(config, callbacks=objects))


def load(path):
    """The generator of a run folder, or of a .keras file cgan exported (with its .json beside
    it): a cgan.Generator, whose sample(digit=7, n=16, seed=0) returns uint8 images. The plugins
    the run was made with are imported again."""
    from cgan.reopen import reopen

    return reopen(path)


def import_plugins(*modules):
    """Imports user modules that register architectures (or anything else), as --import does: a
    dotted module name or a path to a .py file each; a run trained afterwards records them, and
    every later command on it imports them again. Returns them as recorded."""
    return plugins.import_plugins(*modules)


def _run(config, **options):
    """What mode config.mode returns (cgan.modes.MODES), after the process-wide settings."""
    runtime.configure(config)
    from cgan import modes

    return modes.run(config, **options)


def _target_config(target, mode, fields):
    """The Config of what evaluate or export works on: a Run, a run folder, a .keras file, an
    .npz of samples (evaluate), or, with target None, the run the fields name."""
    if target is None:
        return make_config(None, mode=mode, **fields)
    if isinstance(target, Run):
        return make_config(runfolder.for_mode(target.config, mode), **fields)
    target = os.fspath(target)
    if target.endswith(".keras"):
        return make_config(None, mode=mode, generator=target, **fields)
    if target.endswith(".npz"):
        return make_config(None, mode=mode, samples=target, **fields)
    return make_config(runfolder.read_config(target, mode), **fields)


def evaluate(target=None, judge=None, **fields):
    """The judge's scores (FID, precision, recall, accuracy, ... beside the real-data floor under
    "floor") of a Run, a run folder, a .keras generator or an .npz of samples, as a dict; also
    written to metrics.json as in evaluate mode. `judge`: a loaded cgan.judge.Judge to reuse."""
    return _run(_target_config(target, "evaluate", fields), judge=judge)[0]


def export(target=None, **fields):
    """Writes a SavedModel and a TFLite model of a Run's, a run folder's or a .keras file's
    generator; returns {"saved_model": path, "tflite": path}."""
    saved_model, tflite = _run(_target_config(target, "export", fields))
    return dict(saved_model=saved_model, tflite=tflite)


def compare(config=None, **fields):
    """Trains and scores every arm as compare mode does; returns a cgan.modes.compare.Comparison:
    its Markdown table, its rows (one dict of figures per arm, the floor last) and the paths of
    the picture, tables and curves."""
    return _run(make_config(config, mode="compare", **fields))
