"""A tiny decorator registry: architectures register themselves by name."""

import dataclasses
import inspect
from typing import Callable

from cgan.errors import CganError


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How an architecture wants to be trained; every field can be overridden in Config."""

    conditional: bool  # does the generator draw the digit it is asked for?
    loss: str = "bce"  # name of an adversarial loss in cgan.losses.LOSSES
    gradient_penalty: float = 0.0  # WGAN-GP weight; 0 switches the penalty off
    critic_steps: int = 1  # discriminator updates per generator update
    learning_rate: float = 2e-4  # Radford et al. 2015 (DCGAN)
    learning_rate_decay: str = (
        "constant"  # name in cgan.schedules.LEARNING_RATE_DECAYS: the rate over the budget
    )
    beta_1: float = 0.5  # Radford et al. 2015: 0.9 makes GAN training oscillate
    beta_2: float = 0.999  # Adam's default
    ema: float = 0.0  # generator weight averaging decay; 0 disables it
    class_weight: float = (
        0.0  # auxiliary classifier loss (AC-GAN); needs a discriminator with a class head
    )
    mode_seeking: float = (
        0.0  # weight of the generator's mode-seeking term (Mao et al. 2019); 0 switches it off
    )
    minibatch_stddev: int = 0  # D's group size for Karras et al.'s 2018 feature; 0 switches it off
    r1: float = 0.0  # gamma of the zero-centred penalty gamma/2 ||grad D||^2 on reals; 0: off
    r2: float = 0.0  # the same on fakes (R3GAN's pair with r1, Huang et al. 2024)
    augment: str = ""  # DiffAugment transforms of both discriminator inputs (cgan.augment)


@dataclasses.dataclass(frozen=True)
class Architecture:
    """A registered architecture: its builder and its training recipe."""

    name: str
    # (image_shape, latent_dim, num_classes[, minibatch_stddev]) -> (generator, discriminator)
    build: Callable
    recipe: Recipe

    def networks(self, image_shape, latent_dim, num_classes, recipe=None):
        """(generator, discriminator) built for `recipe` (default: the architecture's own): the
        recipe's discriminator option reaches the builder, only when it is on (a builder of
        three arguments works without it)."""
        group = (recipe or self.recipe).minibatch_stddev
        if group and "minibatch_stddev" not in inspect.signature(self.build).parameters:
            raise CganError(f"--minibatch_stddev: architecture {self.name!r} does not offer it")
        options = dict(minibatch_stddev=group) if group else {}
        return self.build(image_shape, latent_dim, num_classes, **options)


_REGISTRY: dict[str, Architecture] = {}


def register(name: str, **recipe) -> Callable:
    """Decorator: registers `build(image_shape, latent_dim, num_classes)` under `name` (taking
    `minibatch_stddev=0` too if the architecture offers that feature)."""

    def decorate(build: Callable) -> Callable:
        if name in _REGISTRY:
            raise KeyError(f"architecture {name!r} is already registered")
        _REGISTRY[name] = Architecture(name, build, Recipe(**recipe))
        return build

    return decorate


def names() -> list[str]:
    """The registered architecture names, sorted."""
    return sorted(_REGISTRY)


def get(name: str) -> Architecture:
    """The architecture registered under `name`; an unknown name lists the known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise CganError(
            f"unknown architecture {name!r}; registered: {', '.join(names())}"
        ) from None
