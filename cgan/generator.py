"""A trained generator to draw from in Python: a .keras file and the facts it does not carry (its
classes, its noise size), kept in a JSON file beside it."""

import dataclasses
import json
import os
import zipfile
from typing import Optional

import keras
import numpy as np

from cgan import plugins
from cgan.errors import CganError, first_line
from cgan.files import atomic_path, write_json

FORMAT = "cgan-generator/1"
# The contract of every exported generator, for code that loads it without cgan.
CONTRACT = dict(
    inputs="[noise float32 (n, latent_dim), standard normal; labels int32 (n,), 0..K-1]",
    output="float32 (n, H, W, C) in [-1, 1]; a pixel is round((x + 1) * 127.5), clipped to 0..255",
)


def metadata_path(path):
    """generator.keras -> generator.json: where a generator file's facts are kept."""
    return os.path.splitext(path)[0] + ".json"


def read_keras(path, remedy):
    """The Keras model in a .keras file, loaded in safe mode (no arbitrary code); a missing,
    truncated or tampered file is refused in one line that ends with `remedy`."""
    if not os.path.isfile(path):
        raise CganError(f"no generator file {path}")
    if not zipfile.is_zipfile(path):  # Keras would call a cut-short file "not found"
        raise CganError(f"cannot load {path}: not a whole .keras (zip) file, truncated?; {remedy}")
    try:
        return keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # a tampered file, or one asking to run code: one line
        raise CganError(f"cannot load {path}: {first_line(error)}; {remedy}") from None


@dataclasses.dataclass(frozen=True)
class Generator:
    """A trained generator: `sample(digit=7, n=16, seed=0)` gives uint8 images."""

    model: keras.Model = dataclasses.field(repr=False)
    arch: str
    dataset: str
    conditional: bool  # whether it draws the label it is asked for
    latent_dim: int
    image_shape: tuple  # (height, width, channels)
    class_names: tuple  # label k is class_names[k]
    train_digit: Optional[int] = None  # the one label an unconditional model was trained on
    step: Optional[int] = None  # the generator steps it was trained for, when known
    image_size: Optional[int] = None  # --image_size it was trained at (None: as stored)

    @classmethod
    def of(cls, model, context, step=None):
        """The Generator of `model`, trained for a resolved Config (cgan.context.Context)."""
        return cls(
            step=step,
            image_size=context.config.image_size,
            model=model,
            arch=context.config.arch,
            dataset=context.config.dataset,
            conditional=context.conditional,
            latent_dim=context.config.latent_dim,
            image_shape=tuple(context.spec.image_shape),
            class_names=tuple(context.spec.class_names),
            train_digit=context.train_digit,
        )

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def noise(self, n, seed=0):
        """The noise `sample` feeds the model: (n, latent_dim) float32, standard normal."""
        return np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32)

    def labels(self, digit, n):
        """int32 (n,): `digit` n times, the given labels, or (None) every class in turn."""
        if digit is None:
            labels = np.arange(n) % self.num_classes
        else:
            labels = np.broadcast_to(np.asarray(digit), (n,))
        labels = np.asarray(labels, np.int32)
        if n < 1:
            raise CganError(f"n must be at least 1, got {n}")
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise CganError(f"digit must be in 0..{self.num_classes - 1}, got {digit}")
        wrong = set(np.unique(labels).tolist()) - {self.train_digit}
        if not self.conditional and digit is not None and self.train_digit is not None and wrong:
            raise CganError(
                f"this {self.arch} generator draws only digit {self.train_digit}, "
                f"not {sorted(wrong)[0]}"
            )
        return labels

    def sample(self, digit=None, n=16, seed=0):
        """n images of `digit` (an int, n labels, or None: every class in turn), drawn from
        noise seeded by `seed`: uint8 (n, H, W), or (n, H, W, C) in colour."""
        from cgan import sampling

        images = sampling.draw(self.model, self.noise(n, seed), self.labels(digit, n))
        return images[..., 0] if images.shape[-1] == 1 else images

    def save(self, path):
        """Writes the model to `path` (.keras) and its facts beside it (.json); returns both."""
        if not path.endswith(".keras"):
            raise CganError(f"a generator file must end in .keras, got {path!r}")
        with atomic_path(path) as tmp:
            self.model.save(tmp)
        write_metadata(metadata_path(path), self)
        return [path, metadata_path(path)]


def write_metadata(path, generator):
    """The JSON beside a .keras file: what drawing from it needs that Keras does not keep."""
    facts = {
        name: getattr(generator, name)
        for name in (
            "arch",
            "dataset",
            "conditional",
            "latent_dim",
            "image_shape",
            "class_names",
            "train_digit",
            "step",
            "image_size",
        )
    }
    # The plugins too: a model with custom layers deserializes only once they are registered.
    write_json(path, dict(format=FORMAT, **facts, imports=list(plugins.imported()), **CONTRACT))


def exported_step(path):
    """The step recorded beside a .keras file cgan exported, or None."""
    try:
        with open(metadata_path(path)) as handle:
            return json.load(handle).get("step")
    except (OSError, ValueError):
        return None


def read(path, model_path=None, remedy=None):
    """The Generator in a .keras file that cgan wrote (with its .json beside it), or with
    `model_path`, the model of that file with the facts of `path`'s .json (a run's raw
    generator). The plugins the .json names are imported first: a custom layer needs its
    class; one that cannot be imported matters only if Keras then cannot load the model.
    `remedy` ends the line refusing a broken model file."""
    if not os.path.isfile(path):
        raise CganError(f"no generator file {path}")
    facts_path = metadata_path(path)
    remedy = remedy or "export it again (python run.py --mode=train with the run's flags)"
    try:
        with open(facts_path) as handle:
            facts = json.load(handle)
    except FileNotFoundError:
        raise CganError(
            f"{path} has no {os.path.basename(facts_path)} beside it, which says what it draws; "
            "load its run folder instead, or copy the file from there"
        ) from None
    except (OSError, ValueError) as error:
        raise CganError(f"cannot read {facts_path}: {first_line(error)}; {remedy}") from None
    if facts.get("format") != FORMAT:
        raise CganError(f"{facts_path} is not a cgan generator's description ({FORMAT})")
    missing = plugins.reimport(facts.get("imports"), path, strict=False)
    try:
        model = read_keras(model_path or path, remedy)
    except CganError as error:
        if not missing:
            raise
        raise CganError(f"{error}; it was saved with {missing[0]}") from None
    return Generator(
        model=model,
        arch=facts["arch"],
        dataset=facts["dataset"],
        conditional=bool(facts["conditional"]),
        latent_dim=int(facts["latent_dim"]),
        image_shape=tuple(facts["image_shape"]),
        class_names=tuple(facts["class_names"]),
        train_digit=facts.get("train_digit"),
        step=facts.get("step"),
        image_size=facts.get("image_size"),
    )
