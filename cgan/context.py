"""A Config resolved once per run into what every part needs: the dataset's spec, the recipe,
the run folder's files and, for training, the tf.distribute strategy."""

import dataclasses
from typing import Any, Optional

from cgan import arrays, data, registry
from cgan.config import Config
from cgan.datasource import DataSource
from cgan.errors import CganError
from cgan.registry import Recipe
from cgan.runfolder import RunFiles


@dataclasses.dataclass(frozen=True)
class Context:
    """One run's resolved Config; the library passes it down instead of re-deriving its parts."""

    config: Config
    source: DataSource  # where the images come from
    spec: data.DatasetSpec  # image shape and class names
    recipe: Recipe  # the architecture's recipe with the Config's overrides
    files: RunFiles  # the names of everything the run writes
    strategy: Optional[Any] = None  # a tf.distribute.Strategy; only training needs one

    @property
    def conditional(self) -> bool:
        """Whether the generator draws the label it is asked for."""
        return self.recipe.conditional

    @property
    def train_digit(self) -> Optional[int]:
        """The label the training data is restricted to: only for unconditional models."""
        return None if self.conditional else self.config.digit

    @property
    def num_classes(self) -> int:
        return self.spec.num_classes


def resolve(config: Config, strategy=None, run_dir: Optional[str] = None) -> Context:
    """The Context of `config` (its files in `run_dir`, by default config.run_dir); an unusable
    dataset is refused here, before anything is written."""
    source, files = config.data_source, RunFiles(run_dir or config.run_dir)
    if source.arrays:  # in-memory data: a later process finds its shape and classes in run.json
        arrays.recall(source, files.saved_config())
    return Context(
        config=config,
        source=source,
        spec=data.spec(source),
        recipe=config.recipe,
        files=files,
        strategy=strategy,
    )


def from_generator(config: Config, generator) -> Context:
    """The Context for drawing from or scoring a loaded cgan.generator.Generator: its model's
    architecture, noise size and classes, whatever `config` says; files in config.run_dir. A
    file needs no builder: an architecture this process has not registered keeps `config`'s
    name, and the file says whether it is conditional."""
    known = generator.arch in registry.names()
    config = dataclasses.replace(
        config,
        arch=generator.arch if known else config.arch,
        latent_dim=generator.latent_dim,
        dataset=generator.dataset,
        image_size=generator.image_size,
    )
    if config.digit is not None and not 0 <= config.digit < generator.num_classes:
        raise CganError(
            f"--digit {config.digit} is not a label of this generator's {generator.dataset} "
            f"(0..{generator.num_classes - 1})"
        )
    spec = data.DatasetSpec(generator.dataset, generator.image_shape, generator.class_names)
    return Context(
        config=config,
        source=config.data_source,
        spec=spec,
        recipe=config.recipe if known else Recipe(conditional=generator.conditional),
        files=RunFiles(config.run_dir),
    )
