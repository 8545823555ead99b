"""One registry mechanism for every pluggable kind (Registry), and the architectures' registry
with their training recipes."""

import dataclasses
import inspect
from typing import Any, Callable, Iterator, Optional

from cgan.errors import CganError


def _origin(function: Callable) -> tuple:
    """(module, qualified name) of a function, looking through functools.partial."""
    function = getattr(function, "func", function)
    return (getattr(function, "__module__", None), getattr(function, "__qualname__", None))


class Registry:
    """Names of one kind (architecture, loss, term, ...) mapped to what was registered under them,
    in registration order. Registering a name again with a function from the same module and of
    the same qualified name (a re-run notebook cell, a reloaded module) replaces it; another
    function under a taken name is refused."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, tuple[tuple, Any]] = {}

    def register(self, name: str, entry: Any, function: Callable) -> Any:
        """Stores `entry` under `name`; `function` (the user's) tells a re-registration from a
        clash. Returns `entry`."""
        if not isinstance(name, str) or not name:
            raise CganError(f"a {self.kind} needs a non-empty string name, got {name!r}")
        origin = _origin(function)
        if name in self._entries and self._entries[name][0] != origin:
            module, qualname = self._entries[name][0]
            raise CganError(
                f"{self.kind} {name!r} is already registered (by {module}.{qualname}); "
                "choose another name"
            )
        self._entries[name] = (origin, entry)
        return entry

    def get(self, name: str) -> Any:
        """What is registered under `name`; an unknown name lists the known ones."""
        try:
            return self._entries[name][1]
        except (KeyError, TypeError):
            raise CganError(
                f"unknown {self.kind} {name!r}; known: {', '.join(self.names()) or 'none'}"
            ) from None

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._entries)

    def values(self) -> list[Any]:
        """What is registered, in registration order (the order terms are summed in)."""
        return [entry for _, entry in self._entries.values()]

    def __contains__(self, name) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How an architecture wants to be trained; every field can be overridden in Config."""

    conditional: bool  # does the generator draw the digit it is asked for?
    loss: str = "bce"  # name of an adversarial loss (cgan.losses.LOSSES)
    gradient_penalty: float = 0.0  # WGAN-GP weight; 0 switches the penalty off
    critic_steps: int = 1  # discriminator updates per generator update
    learning_rate: float = 2e-4  # Radford et al. 2015 (DCGAN)
    learning_rate_decay: str = (
        "constant"  # name in cgan.schedules.LEARNING_RATE_DECAYS: the rate over the budget
    )
    beta_1: float = 0.5  # Radford et al. 2015: 0.9 makes GAN training oscillate
    beta_2: float = 0.999  # Adam's default
    ema: float = 0.0  # generator weight averaging decay; 0 disables it
    # the average's half-life in images (Karras et al. 2020), ramped up; replaces `ema`; 0: off
    ema_half_life: float = 0.0
    class_weight: float = (
        0.0  # auxiliary classifier loss (AC-GAN); needs a discriminator with a class head
    )
    mode_seeking: float = (
        0.0  # weight of the generator's mode-seeking term (Mao et al. 2019); 0 switches it off
    )
    minibatch_stddev: int = 0  # D's group size for Karras et al.'s 2018 feature; 0 switches it off
    g_width: Optional[int] = None  # filters of G's last stage; None: the builder's own
    d_width: Optional[int] = None  # filters of D's first stage; None: the builder's own
    r1: float = 0.0  # gamma of the zero-centred penalty gamma/2 ||grad D||^2 on reals; 0: off
    r2: float = 0.0  # the same on fakes (R3GAN's pair with r1, Huang et al. 2024)
    augment: str = ""  # DiffAugment transforms of both discriminator inputs (cgan.augment)
    terms: str = ""  # "name=weight,...": weights of registered terms without a field of their own
    # the share of fakes the generator's adversarial loss keeps at the budget's end, those D
    # scores highest (Sinha et al. 2020), falling linearly from all; 1: every fake throughout
    top_k: float = 1.0

    @property
    def averages(self) -> bool:
        """Does the generator keep a weight average (ema or ema_half_life set)?"""
        return bool(self.ema or self.ema_half_life)


# Recipe fields that reach the builder as keywords, only when set: a builder without the keyword
# does not offer that option.
BUILDER_OPTIONS = ("minibatch_stddev", "g_width", "d_width")


@dataclasses.dataclass(frozen=True)
class Architecture:
    """A registered architecture: its builder and its training recipe."""

    name: str
    # (image_shape, latent_dim, num_classes[, BUILDER_OPTIONS...]) -> (generator, discriminator)
    build: Callable
    recipe: Recipe

    def networks(self, image_shape, latent_dim, num_classes, recipe=None):
        """(generator, discriminator) built for `recipe` (default: the architecture's own): the
        recipe's BUILDER_OPTIONS reach the builder, each only when set (a builder of three
        arguments works without them)."""
        recipe = recipe or self.recipe
        options = {name: getattr(recipe, name) for name in BUILDER_OPTIONS if getattr(recipe, name)}
        offered = inspect.signature(self.build).parameters
        for name in options:
            if name not in offered:
                raise CganError(f"--{name}: architecture {self.name!r} does not offer it")
        networks = self.build(image_shape, latent_dim, num_classes, **options)
        if not isinstance(networks, (list, tuple)) or len(networks) != 2:
            raise CganError(
                f"architecture {self.name!r}'s builder must return (generator, discriminator), "
                f"got {type(networks).__name__}"
            )
        from cgan import contract  # TensorFlow is imported only once networks are built

        group = recipe.minibatch_stddev
        contract.check(self.name, *networks, tuple(image_shape), latent_dim, num_classes, group)
        return tuple(networks)


ARCHITECTURES = Registry("architecture")


def register(name: str, **recipe) -> Callable:
    """Decorator: registers `build(image_shape, latent_dim, num_classes)` under `name` (taking
    keywords of BUILDER_OPTIONS too, minibatch_stddev=0, g_width=64, d_width=64, for the options
    the architecture offers), with the Recipe fields
    given as keywords (`conditional` at least). Public as cgan.register_architecture."""

    def decorate(build: Callable) -> Callable:
        unknown = sorted(set(recipe) - {field.name for field in dataclasses.fields(Recipe)})
        if unknown or "conditional" not in recipe:
            what = f"unknown recipe field(s) {', '.join(unknown)}" if unknown else "no conditional="
            raise CganError(f"architecture {name!r}: {what}; see help(cgan.Recipe)")
        ARCHITECTURES.register(name, Architecture(name, build, Recipe(**recipe)), build)
        return build

    return decorate


def names() -> list[str]:
    """The registered architecture names, sorted."""
    return ARCHITECTURES.names()


def get(name: str) -> Architecture:
    """The architecture registered under `name`; an unknown name lists the known ones."""
    return ARCHITECTURES.get(name)


CALLBACKS = Registry("callback")


def register_callback(name: str) -> Callable:
    """Decorator: registers a keras.callbacks.Callback class (or a function of no arguments
    returning a Callback) under `name`, so that --callbacks=NAME (a plugin's, with --import) calls
    a new one in every run, as cgan.train(callbacks=[...]) calls objects. Public as
    cgan.register_callback."""

    def decorate(make: Callable) -> Callable:
        CALLBACKS.register(name, make, make)
        return make

    return decorate


EXPERIMENTS = Registry("experiment")


def register_experiment(function: Callable = None, *, name: str = None) -> Callable:
    """Decorator, bare or with name=: registers a no-argument function returning a Config (a
    comparison, --mode=compare --experiment=NAME) under `name`, by default its own name."""

    def decorate(function: Callable) -> Callable:
        EXPERIMENTS.register(name or function.__name__, function, function)
        return function

    return decorate(function) if function is not None else decorate
