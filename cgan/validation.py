"""Validation of a Config: each value is checked once, here, whether it came from a flag or
from Python; a bad one is refused with a one-line CganError."""

from cgan import registry
from cgan.datasource import FOLDER_PREFIX
from cgan.errors import CganError
from cgan.options import check_choices

COMPARE_ONLY = ("archs", "seeds", "experiment")  # fields that mean nothing outside --mode=compare
SPEED_SWITCHES = (
    "strategy",
    "cpu_devices",
    "mixed_precision",
    "jit_compile",
    "steps_per_execution",
    "remapping",
)  # how, not what
IMAGE_SIZES = range(16, 257, 4)  # multiples of 4: a generator doubles its seed map at least twice


def validate(self):
    """Refuses (CganError, one line) the first value of `self`, a Config, that is out of range or
    that contradicts another."""
    check_choices(self)  # every enum-like field, --arch included, against its declared choices
    architecture = registry.get(self.arch)
    if self.digit is not None and self.digit < 0:  # the upper end is the dataset's: cgan.data
        raise CganError(f"--digit must be a label of the dataset, 0 or more, got {self.digit}")
    if self.image_size is not None and self.image_size not in IMAGE_SIZES:
        raise CganError(
            f"--image_size must be a multiple of 4 from {IMAGE_SIZES.start} to "
            f"{IMAGE_SIZES[-1]}, got {self.image_size}"
        )
    if self.mnist_dir and self.dataset != "mnist":
        raise CganError(
            f"--mnist_dir is for --dataset=mnist; give {self.dataset}'s files with --manual_dir"
        )
    if self.manual_dir and self.dataset.startswith(FOLDER_PREFIX):
        raise CganError(
            "--manual_dir is for tensorflow-datasets; --dataset=folder:PATH reads PATH itself"
        )
    positive = (
        "epochs",
        "batch_size",
        "latent_dim",
        "num_samples",
        "log_every",
        "eval_samples",
        "seeds",
        "checkpoint_every",
        "keep_checkpoints",
        "steps_per_execution",
        "cpu_devices",
    )
    for name in positive:
        if getattr(self, name) <= 0:
            raise CganError(f"--{name} must be positive, got {getattr(self, name)}")
    for name in (
        "steps",
        "critic_steps",
        "eval_every",
        "budget_images",
        "budget_seconds",
        "g_width",
        "d_width",
    ):
        if getattr(self, name) is not None and getattr(self, name) <= 0:
            raise CganError(f"--{name} must be positive, got {getattr(self, name)}")
    if not 0 <= self.seed < 2**32:
        raise CganError(f"--seed must be in [0, 2**32) (numpy's seed range), got {self.seed}")
    if self.learning_rate is not None and not 0 < self.learning_rate < float("inf"):
        raise CganError(f"--learning_rate must be positive, got {self.learning_rate}")
    for name in ("beta_1", "beta_2", "ema"):
        if getattr(self, name) is not None and not 0 <= getattr(self, name) < 1:
            raise CganError(f"--{name} must be in [0, 1), got {getattr(self, name)}")
    if self.class_weight is not None:
        if not architecture.recipe.class_weight:  # > 0 exactly with a class head
            if self.class_weight != 0:
                raise CganError(
                    f"--class_weight is for architectures with a class head; {self.arch} has none"
                )
        elif not 0 < self.class_weight < float("inf"):
            raise CganError(
                f"--class_weight must be positive for {self.arch}, got {self.class_weight}"
            )
    if self.gradient_penalty is not None and self.gradient_penalty < 0:
        raise CganError(f"--gradient_penalty must be >= 0, got {self.gradient_penalty}")
    group = self.minibatch_stddev
    if group is not None and group != 0 and group < 2:  # a group of one has no spread
        raise CganError(f"--minibatch_stddev must be 0 or at least 2, got {self.minibatch_stddev}")
    for name in ("mode_seeking", "r1", "r2", "ema_half_life"):
        if getattr(self, name) is not None and not 0 <= getattr(self, name) < float("inf"):
            raise CganError(f"--{name} must be >= 0, got {getattr(self, name)}")
    if self.top_k is not None and not 0 < self.top_k <= 1:
        raise CganError(f"--top_k must be in (0, 1], got {self.top_k}")
    if self.augment is not None and self.augment != "none":
        from cgan import augment  # imports TensorFlow: only when asked for

        augment.parse(self.augment)
    if self.terms is not None:
        from cgan import terms  # imports TensorFlow: only when asked for

        terms.term_weights(self.terms)
    if self.export is not None and not self.export.endswith(".npz"):
        raise CganError(f"--export must name an .npz file, got {self.export!r}")
    if self.generator is not None:
        if self.mode not in ("generate", "evaluate", "export"):
            raise CganError("--generator is for --mode=generate, evaluate or export")
        if not self.generator.endswith(".keras"):
            raise CganError(f"--generator must name a .keras file, got {self.generator!r}")
        if self.samples is not None:
            raise CganError("give --generator or --samples to score, not both")
    if self.samples is not None and self.mode != "evaluate":
        raise CganError("--samples is for --mode=evaluate")
    if self.overwrite and self.mode not in ("train", "compare"):
        raise CganError(
            f"--overwrite starts training over; it means nothing with --mode={self.mode}"
        )
    _check_budget(self)
    _check_speed(self)
    _check_callbacks(self)
    if self.mode == "compare":
        _check_compare(self)
    else:
        given = [
            f"--{name}" for name in COMPARE_ONLY if getattr(self, name) != getattr(type(self), name)
        ]
        if "--experiment" in given:
            given = ["--experiment"]  # its --archs and --seeds were not typed: not blamed
        if given:
            raise CganError(
                f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for --mode=compare only"
            )
    _check_draw(self, architecture)


def _check_budget(self):
    if self.budget_images is not None and self.budget_seconds is not None:
        raise CganError("give one budget, --budget_images or --budget_seconds, not both")
    if self.steps is not None and self.budget is not None:
        raise CganError("--steps and a budget both set the length of training; give one")


def _check_speed(self):
    if self.mode not in ("train", "compare"):
        given = [
            f"--{name}"
            for name in SPEED_SWITCHES
            if getattr(self, name) != getattr(type(self), name)
        ]
        if given:
            one = len(given) == 1
            raise CganError(
                f"{', '.join(given)} {'sets' if one else 'set'} how training runs; "
                f"{'it means' if one else 'they mean'} nothing with "
                f"--mode={self.mode}"
            )
    if self.strategy == "multi_worker" and self.mode == "compare":
        raise CganError(
            "--strategy=multi_worker trains one run at a time; it cannot drive --mode=compare"
        )


def _check_callbacks(self):
    for name in self.callbacks:
        try:
            registry.CALLBACKS.get(name)
        except CganError as error:
            raise CganError(f"--callbacks: {error}") from None


def _check_compare(self):
    if self.budget is None:
        raise CganError(
            "--mode=compare needs the budget every arm gets: --budget_images=N "
            "or --budget_seconds=S"
        )
    if self.digit is not None:
        raise CganError("--mode=compare trains on all ten digits; drop --digit")
    if self.archs is not None:
        if not self.archs:
            raise CganError("--archs must name at least one architecture")
        for name in self.archs:
            if name not in registry.names():
                raise CganError(
                    f"--archs: unknown architecture {name!r}; registered: "
                    f"{', '.join(registry.names())}"
                )
        twice = sorted({name for name in self.archs if self.archs.count(name) > 1})
        if twice:
            raise CganError(f"--archs names {', '.join(twice)} more than once")


def _check_draw(self, architecture):
    if self.draw == "sweep" and self.mode != "compare":
        if not architecture.recipe.conditional:
            raise CganError(
                f"--draw=sweep needs a conditional architecture; {self.arch} ignores labels"
            )
        if self.digit is not None:
            raise CganError("--draw=sweep draws all ten digits; drop --digit")
