"""The frozen configuration: flags are parsed into it once, and the library reads only it."""

import dataclasses
import os
from typing import Optional

from cgan import registry
from cgan.errors import CganError

MODES = ("train", "generate", "evaluate", "compare")
EXPORT_FORMATS = ("npz", "npz_and_png")
DRAWINGS = ("grid", "interpolation", "sweep")  # what train and generate draw at the end
ON_DIVERGENCE = ("stop", "restore")  # what a NaN or infinite loss or weight does to training
COMPARE_ONLY = ("archs", "seeds", "experiment")  # fields that mean nothing outside --mode=compare
STRATEGIES = ("auto", "default", "one_device", "mirrored", "multi_worker", "tpu")  # cgan.distribute builds them
# --mixed_precision: the Keras dtype policy of each choice (float16 trains with loss scaling)
MIXED_PRECISION = {"off": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
SPEED_SWITCHES = ("strategy", "mixed_precision", "jit_compile", "steps_per_execution")  # how training runs, not what
MNIST_DIR_ENV = "CGAN_MNIST_DIR"  # folder of the four original MNIST .gz files, for offline use
FOLDER_PREFIX = "folder:"  # --dataset=folder:PATH reads PATH/<class>/<image files>
IMAGE_SIZES = range(16, 257, 4)  # multiples of 4: every generator doubles its seed map at least twice


@dataclasses.dataclass(frozen=True)
class DataSource:
    """Where training images come from: a tensorflow-datasets name or folder:PATH, the side they
    are resized to (None: as stored), tfds' manual download folder and its data folder."""

    dataset: str = "mnist"
    image_size: Optional[int] = None
    manual_dir: Optional[str] = None
    data_dir: Optional[str] = None

    @property
    def folder(self) -> Optional[str]:
        """PATH of --dataset=folder:PATH, else None."""
        return self.dataset[len(FOLDER_PREFIX):] if self.dataset.startswith(FOLDER_PREFIX) else None

    @property
    def plain_mnist(self) -> bool:
        """MNIST as stored: the dataset whose run and judge folders carry no dataset name."""
        return self.dataset == "mnist" and self.image_size is None

    @property
    def label(self) -> str:
        """A short name for folders: the dataset (a folder dataset by its folder's name), -<size> when resized."""
        name = os.path.basename(os.path.normpath(self.folder)) if self.folder else self.dataset
        return name + ("" if self.image_size is None else f"-{self.image_size}")


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything a run needs. None means "the architecture's recipe decides"."""

    arch: str = "cgan"
    mode: str = "train"
    digit: Optional[int] = None  # draw only this label (and train on it, if unconditional)
    dataset: str = "mnist"  # a tensorflow-datasets image classification dataset, or folder:PATH
    image_size: Optional[int] = None  # resize images to this side; None keeps the dataset's
    epochs: int = 3  # cgan: about 4.5 minutes on a 2-core CPU, FID 2.3x the real floor (README, "Defaults")
    steps: Optional[int] = None  # a step budget that overrides epochs, for quick runs
    budget_images: Optional[int] = None  # train until this many images are seen (replaces epochs)
    budget_seconds: Optional[float] = None  # train for this many wall seconds, scoring excluded
    batch_size: int = 64  # small batches give more updates per second on a CPU
    latent_dim: int = 64  # plenty for ten digit classes; 100 (DCGAN) buys nothing on MNIST
    learning_rate: Optional[float] = None
    learning_rate_decay: Optional[str] = None  # "constant" or "linear" (to zero at the end of the budget)
    beta_1: Optional[float] = None  # Adam's first-moment decay
    loss: Optional[str] = None
    critic_steps: Optional[int] = None
    gradient_penalty: Optional[float] = None
    ema: Optional[float] = None
    class_weight: Optional[float] = None  # the class head's loss weight, for architectures with one
    mode_seeking: Optional[float] = None  # the mode-seeking term's weight in the generator's loss
    seed: int = 0
    output_dir: Optional[str] = None  # default runs/<arch>[-digit<k>]
    mnist_dir: Optional[str] = None  # default $CGAN_MNIST_DIR, else download through tfds
    manual_dir: Optional[str] = None  # another tfds dataset's original files, for offline use
    data_dir: Optional[str] = None  # where tfds keeps prepared datasets; default tfds' own
    num_samples: int = 100  # images drawn in generate mode (a 10x10 grid)
    export: Optional[str] = None  # generate mode: write the samples to this .npz
    export_format: str = "npz"  # npz_and_png also writes a folder of PNGs for external tools
    samples: Optional[str] = None  # evaluate mode: score this .npz instead of a run's generator
    eval_every: Optional[int] = None  # train mode: score every this many epochs
    eval_samples: int = 10_000  # images per score: FID is biased upwards on small sets
    log_every: int = 50  # steps between rows of history.csv and TensorBoard points
    checkpoint_every: int = 500  # steps between checkpoints: a crash loses at most ~30 s of CPU training
    keep_checkpoints: int = 3  # the last three: a bad step or a bad disk block still leaves older ones
    deterministic: bool = False  # op determinism: bit-identical runs; can slow GPU kernels (no cost seen on CPU)
    on_divergence: str = "stop"  # stop: keep the last good checkpoint and exit; restore: resume it at half the rate
    overwrite: bool = False  # start over in a folder that holds another (or a finished) run
    draw: str = "grid"  # grid: the requested digits; interpolation: a latent walk; sweep: one style, ten digits
    strategy: str = "auto"  # several GPUs: mirrored, one: that GPU, else the CPU (cgan.distribute)
    mixed_precision: str = "off"  # 16-bit compute pays on GPUs, TPUs and CPUs with AVX-512 BF16; most CPUs lack it
    jit_compile: bool = False  # XLA pays on GPUs and TPUs; on a CPU it is slower
    steps_per_execution: int = 1  # train steps per compiled call; more saves per-call overhead on accelerators
    archs: Optional[tuple[str, ...]] = None  # compare: the arms; None = every registered architecture
    seeds: int = 1  # compare: train each arm with seeds seed .. seed+seeds-1
    experiment: Optional[str] = None  # compare: the name of the experiments/ config this came from

    def __post_init__(self):
        architecture = registry.get(self.arch)  # unknown names fail here, listing known ones
        if self.mode not in MODES:
            raise CganError(f"--mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.digit is not None and self.digit < 0:  # the upper end is the dataset's: cgan.data checks it
            raise CganError(f"--digit must be a label of the dataset, 0 or more, got {self.digit}")
        if self.image_size is not None and self.image_size not in IMAGE_SIZES:
            raise CganError(f"--image_size must be a multiple of 4 from {IMAGE_SIZES.start} to "
                            f"{IMAGE_SIZES[-1]}, got {self.image_size}")
        if self.mnist_dir and self.dataset != "mnist":
            raise CganError(f"--mnist_dir is for --dataset=mnist; give {self.dataset}'s files with --manual_dir")
        if self.manual_dir and self.dataset.startswith(FOLDER_PREFIX):
            raise CganError("--manual_dir is for tensorflow-datasets; --dataset=folder:PATH reads PATH itself")
        positive = ("epochs", "batch_size", "latent_dim", "num_samples", "log_every", "eval_samples", "seeds",
                    "checkpoint_every", "keep_checkpoints", "steps_per_execution")
        for name in positive:
            if getattr(self, name) <= 0:
                raise CganError(f"--{name} must be positive, got {getattr(self, name)}")
        for name in ("steps", "critic_steps", "eval_every", "budget_images", "budget_seconds"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise CganError(f"--{name} must be positive, got {getattr(self, name)}")
        if not 0 <= self.seed < 2**32:
            raise CganError(f"--seed must be in [0, 2**32) (numpy's seed range), got {self.seed}")
        if self.learning_rate is not None and not 0 < self.learning_rate < float("inf"):
            raise CganError(f"--learning_rate must be positive, got {self.learning_rate}")
        if self.beta_1 is not None and not 0 <= self.beta_1 < 1:
            raise CganError(f"--beta_1 must be in [0, 1), got {self.beta_1}")
        if self.class_weight is not None:
            if not architecture.recipe.class_weight:  # the registered weight is > 0 exactly with a class head
                if self.class_weight != 0:
                    raise CganError(f"--class_weight is for architectures with a class head; {self.arch} has none")
            elif not 0 < self.class_weight < float("inf"):
                raise CganError(f"--class_weight must be positive for {self.arch}, got {self.class_weight}")
        if self.ema is not None and not 0 <= self.ema < 1:
            raise CganError(f"--ema must be in [0, 1), got {self.ema}")
        if self.gradient_penalty is not None and self.gradient_penalty < 0:
            raise CganError(f"--gradient_penalty must be >= 0, got {self.gradient_penalty}")
        if self.mode_seeking is not None and not 0 <= self.mode_seeking < float("inf"):
            raise CganError(f"--mode_seeking must be >= 0, got {self.mode_seeking}")
        if self.loss is not None:
            from cgan.losses import get_loss  # imported late: keeps config free of TensorFlow

            get_loss(self.loss)
        if self.learning_rate_decay is not None:
            from cgan.trainer import get_decay  # imported late, as get_loss

            get_decay(self.learning_rate_decay)
        if self.export is not None and not self.export.endswith(".npz"):
            raise CganError(f"--export must name an .npz file, got {self.export!r}")
        if self.export_format not in EXPORT_FORMATS:
            raise CganError(f"--export_format must be one of {', '.join(EXPORT_FORMATS)}, got {self.export_format!r}")
        if self.samples is not None and self.mode != "evaluate":
            raise CganError("--samples is for --mode=evaluate")
        if self.on_divergence not in ON_DIVERGENCE:
            raise CganError(f"--on_divergence must be one of {', '.join(ON_DIVERGENCE)}, got {self.on_divergence!r}")
        if self.overwrite and self.mode not in ("train", "compare"):
            raise CganError(f"--overwrite starts training over; it means nothing with --mode={self.mode}")
        self._check_budget()
        self._check_speed()
        if self.mode == "compare":
            self._check_compare()
        else:
            given = [f"--{name}" for name in COMPARE_ONLY if getattr(self, name) != getattr(Config, name)]
            if "--experiment" in given:
                given = ["--experiment"]  # its --archs and --seeds were not typed: do not blame them
            if given:
                raise CganError(f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for --mode=compare only")
        self._check_draw(architecture)

    def _check_budget(self):
        if self.budget_images is not None and self.budget_seconds is not None:
            raise CganError("give one budget, --budget_images or --budget_seconds, not both")
        if self.steps is not None and self.budget is not None:
            raise CganError("--steps and a budget both set the length of training; give one")

    def _check_speed(self):
        if self.strategy not in STRATEGIES:
            raise CganError(f"--strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        if self.mixed_precision not in MIXED_PRECISION:
            raise CganError(
                f"--mixed_precision must be one of {', '.join(MIXED_PRECISION)}, got {self.mixed_precision!r}")
        if self.mode not in ("train", "compare"):
            given = [f"--{name}" for name in SPEED_SWITCHES if getattr(self, name) != getattr(Config, name)]
            if given:
                raise CganError(f"{', '.join(given)} {'sets' if len(given) == 1 else 'set'} how training runs; "
                                f"{'it means' if len(given) == 1 else 'they mean'} nothing with --mode={self.mode}")
        if self.strategy == "multi_worker" and self.mode == "compare":
            raise CganError("--strategy=multi_worker trains one run at a time; it cannot drive --mode=compare")

    def _check_compare(self):
        if self.budget is None:
            raise CganError("--mode=compare needs the budget every arm gets: --budget_images=N or --budget_seconds=S")
        if self.digit is not None:
            raise CganError("--mode=compare trains on all ten digits; drop --digit")
        if self.archs is not None:
            if not self.archs:
                raise CganError("--archs must name at least one architecture")
            for name in self.archs:
                if name not in registry.names():
                    raise CganError(f"--archs: unknown architecture {name!r}; registered: {', '.join(registry.names())}")
            twice = sorted({name for name in self.archs if self.archs.count(name) > 1})
            if twice:
                raise CganError(f"--archs names {', '.join(twice)} more than once")

    def _check_draw(self, architecture):
        if self.draw not in DRAWINGS:
            raise CganError(f"--draw must be one of {', '.join(DRAWINGS)}, got {self.draw!r}")
        if self.draw == "sweep" and self.mode != "compare":
            if not architecture.recipe.conditional:
                raise CganError(f"--draw=sweep needs a conditional architecture; {self.arch} ignores labels")
            if self.digit is not None:
                raise CganError("--draw=sweep draws all ten digits; drop --digit")

    @property
    def recipe(self) -> registry.Recipe:
        """The architecture's training recipe with this config's overrides applied."""
        # Every Config field that is also a recipe field (learning_rate, beta_1, ema, ...) overrides it when set.
        recipe_fields = {field.name for field in dataclasses.fields(registry.Recipe)}
        overrides = {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if field.name in recipe_fields and getattr(self, field.name) is not None
        }
        return dataclasses.replace(registry.get(self.arch).recipe, **overrides)

    @property
    def budget(self) -> Optional[tuple[str, float]]:
        """("images", N) or ("seconds", S) when a budget replaces --epochs, else None."""
        if self.budget_images is not None:
            return ("images", self.budget_images)
        if self.budget_seconds is not None:
            return ("seconds", self.budget_seconds)
        return None

    @property
    def arms(self) -> tuple[str, ...]:
        """The architectures this config trains: --archs (every registered one by default) when
        comparing, else just --arch."""
        if self.mode != "compare":
            return (self.arch,)
        return tuple(self.archs) if self.archs is not None else tuple(registry.names())

    @property
    def conditional(self) -> bool:
        """Whether the architecture draws the digit it is asked for."""
        return registry.get(self.arch).recipe.conditional

    @property
    def train_digit(self) -> Optional[int]:
        """The digit the training data is restricted to: only for unconditional models."""
        return None if self.conditional else self.digit

    @property
    def run_dir(self) -> str:
        """Where the run lives: one folder per conditional model, one per digit otherwise;
        a comparison gets runs/<experiment> (runs/compare without one); under runs_root."""
        if self.output_dir:
            return self.output_dir
        if self.mode == "compare":
            return os.path.join(self.runs_root, self.experiment or "compare")
        suffix = "" if self.train_digit is None else f"-digit{self.train_digit}"
        return os.path.join(self.runs_root, self.arch + suffix)

    @property
    def runs_root(self) -> str:
        """runs for MNIST as stored; runs/<dataset>[-<size>] (a folder dataset by its folder's name) otherwise."""
        source = self.data_source
        return "runs" if source.plain_mnist else os.path.join("runs", source.label)

    @property
    def resolved_manual_dir(self) -> Optional[str]:
        """--manual_dir; for MNIST also --mnist_dir, else the CGAN_MNIST_DIR environment variable; else None."""
        if self.manual_dir or self.dataset != "mnist":
            return self.manual_dir
        return self.mnist_dir or os.environ.get(MNIST_DIR_ENV) or None

    @property
    def data_source(self) -> DataSource:
        """The training data this config names (cgan.data reads it)."""
        return DataSource(self.dataset, self.image_size, self.resolved_manual_dir, self.data_dir)
