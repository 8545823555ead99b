"""The frozen configuration: flags are parsed into it once, and the library reads only it."""

import dataclasses
import os
from typing import Optional

from cgan import registry
from cgan.datasource import DataSource
from cgan.options import option
from cgan.recipe_options import RecipeOptions
from cgan.validation import validate

# Choices of the enum-like fields; architectures, losses and decays come from their modules.
MODES = ("train", "generate", "evaluate", "compare", "export")
EXPORT_FORMATS = ("npz", "npz_and_png")
DRAWINGS = ("grid", "interpolation", "sweep")  # what train and generate draw at the end
ON_DIVERGENCE = ("stop", "restore")  # what a NaN or infinite loss or weight does to training
# The tf.distribute strategies cgan.distribute builds.
STRATEGIES = ("auto", "default", "one_device", "mirrored", "multi_worker", "tpu")
# --mixed_precision: the Keras dtype policy of each choice (float16 trains with loss scaling;
# auto is bfloat16 or off, as cgan.runtime.fast_bfloat16 finds the hardware)
MIXED_PRECISION = {
    "off": "float32",
    "bfloat16": "mixed_bfloat16",
    "float16": "mixed_float16",
    "auto": None,
}
MNIST_DIR_ENV = "CGAN_MNIST_DIR"  # folder of the four original MNIST .gz files, for offline use


@dataclasses.dataclass(frozen=True)
class Config(RecipeOptions):
    """Everything a run needs, each field with its help text (run.py makes a flag of each).
    None means "the architecture's recipe decides"."""

    arch: str = option(
        "cgan", "Registered architecture to train or draw from.", choices=registry.names
    )
    # The flag is --import (repeatable): `import` is a Python keyword, so the field is plural.
    imports: tuple[str, ...] = option(
        (),
        "Python modules to import first, which register architectures (or anything else): a "
        "dotted module name or a path to a .py file; repeat the flag for several. The run "
        "records them, and every later command on the run imports them again.",
    )
    mode: str = option(
        "train",
        "train: train (or resume, or reuse) then draw; generate: draw only; evaluate: "
        "score with the dataset's judge; compare: train and score every --archs arm on one budget, "
        "side by side; export: write a SavedModel and a TFLite model of the generator.",
        choices=MODES,
    )
    digit: Optional[int] = option(
        None, "Label to draw (a digit for MNIST); unconditional models then train on it only."
    )
    dataset: str = option(
        "mnist",
        "A tensorflow-datasets image classification dataset (mnist, fashion_mnist, "
        "kmnist, emnist/digits, cifar10, ...) or folder:PATH, a folder of images with one "
        "sub-folder per class.",
    )
    image_size: Optional[int] = option(
        None, "Resize the images to this side, a multiple of 4 (28, 32, 64; default: as stored)."
    )
    epochs: int = option(5, "Passes over the training set.")
    steps: Optional[int] = option(None, "Generator steps; overrides --epochs (for quick runs).")
    budget_images: Optional[int] = option(
        None, "Train until this many images are seen (replaces --epochs)."
    )
    budget_seconds: Optional[float] = option(
        None, "Train for this many wall seconds, scoring excluded (replaces --epochs)."
    )
    # Small batches give more updates per second on a CPU.
    batch_size: int = option(64, "Global batch size (summed over replicas).")
    # Plenty for ten classes: DCGAN's 100 buys nothing on MNIST.
    latent_dim: int = option(64, "Size of the noise vector z.")
    seed: int = option(0, "Random seed for weights, data order and the grids' noise.")
    output_dir: Optional[str] = option(
        None, "Run folder (default runs/<arch>, or runs/<arch>-digit<k> when unconditional)."
    )
    mnist_dir: Optional[str] = option(
        None,
        "Folder with the four original MNIST .gz files, for offline use "
        f"(default: ${MNIST_DIR_ENV}, else download through tensorflow-datasets).",
    )
    manual_dir: Optional[str] = option(
        None, "Folder with another tensorflow-datasets dataset's original files, for offline use."
    )
    data_dir: Optional[str] = option(
        None, "Where tensorflow-datasets keeps prepared datasets (default: its own)."
    )
    num_samples: int = option(100, "Images to draw (grid) and to export.")  # a 10x10 grid
    export: Optional[str] = option(None, "generate mode: also write the samples to this .npz file.")
    export_format: str = option(
        "npz",
        "What --export writes: npz_and_png also writes a folder of PNGs for other tools.",
        choices=EXPORT_FORMATS,
    )
    generator: Optional[str] = option(
        None,
        "generate, evaluate and export modes: use this .keras generator file (with the .json "
        "cgan writes beside it) instead of a run's; results go to --output_dir "
        "(default runs/<file name>).",
    )
    samples: Optional[str] = option(
        None, "evaluate mode: score this .npz (export format) instead of the run's generator."
    )
    eval_every: Optional[int] = option(
        None, "train mode: score with the judge every this many epochs."
    )
    # FID is biased upwards on small sets.
    eval_samples: int = option(10_000, "Images generated for each score.")
    log_every: int = option(50, "Steps between history.csv rows and TensorBoard points.")
    checkpoint_every: int = option(  # a crash loses at most this many steps
        500, "Steps between checkpoints (one is also saved per epoch)."
    )
    keep_checkpoints: int = option(  # a bad step or disk block still leaves older ones
        3, "How many of the latest checkpoints to keep."
    )
    verbose: bool = option(
        True, "Progress bars and progress lines (a resume, an arm of a comparison); off: silent."
    )
    deterministic: bool = option(  # off by default: it can slow GPU kernels
        False, "TensorFlow op determinism: the same seed gives identical weights."
    )
    on_divergence: str = option(
        "stop",
        "When a loss or weight becomes NaN or infinite: stop (keep the last good "
        "checkpoint, exit 3) or restore (resume from it at half the learning rate).",
        choices=ON_DIVERGENCE,
    )
    overwrite: bool = option(
        False, "Start over in an output folder that holds another or a finished run."
    )
    draw: str = option(
        "grid",
        "What train and generate draw: grid (the digits asked for), interpolation (a "
        "walk between two noises), sweep (one noise per row drawn as digits 0-9; conditional "
        "models).",
        choices=DRAWINGS,
    )
    strategy: str = option(
        "auto",
        "tf.distribute strategy: auto (several GPUs: mirrored; one GPU: one_device; else "
        "the CPU), default, one_device, mirrored (every GPU, else every logical CPU), "
        "multi_worker (the machines TF_CONFIG names), tpu.",
        choices=STRATEGIES,
    )
    mixed_precision: str = option(
        "off",
        "Compute in bfloat16 or float16 (with loss scaling), weights in float32; pays on "
        "GPUs, TPUs and CPUs with AVX-512 BF16; most CPUs lack it. auto: bfloat16 where it "
        "runs fast (a CPU with AVX-512 BF16 or AMX, a GPU of compute capability 8 or more), "
        "else off.",
        choices=tuple(MIXED_PRECISION),
    )
    cpu_devices: int = option(
        1,
        "Split the CPU into this many logical devices, so that --strategy=mirrored trains "
        "replicas on a machine without GPUs (to try a multi-replica run, not for speed).",
    )
    jit_compile: bool = option(
        False, "Compile each train step with XLA; pays on GPUs and TPUs, not on CPUs."
    )
    remapping: bool = option(
        True,
        "Grappler's remapper: fuses a convolution or matmul with its bias and activation (more "
        "on GPUs); off computes each op alone, as runs before it did.",
    )
    steps_per_execution: int = option(
        1, "Train steps per compiled call (fewer calls from Python; pays on accelerators)."
    )
    callbacks: tuple[str, ...] = option(
        (),
        "Registered Keras callbacks (cgan.register_callback, e.g. in an --import module) to call "
        "as training goes, comma-separated; from Python, cgan.train(callbacks=...) also takes "
        "Callback objects.",
    )
    archs: Optional[tuple[str, ...]] = option(
        None, "compare mode: comma-separated architectures (default: every registered one)."
    )
    seeds: int = option(1, "compare mode: train each arm with this many seeds, from --seed on.")
    experiment: Optional[str] = option(
        None, "compare mode: a named experiment of experiments/configs.py."
    )

    def __post_init__(self):
        validate(self)

    @property
    def recipe(self) -> registry.Recipe:
        """The architecture's training recipe with this config's overrides applied."""
        # Every Config field that is also a recipe field (learning_rate, ema, ...) overrides it.
        recipe_fields = {field.name for field in dataclasses.fields(registry.Recipe)}
        overrides = {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if field.name in recipe_fields and getattr(self, field.name) is not None
        }
        if "augment" in overrides:  # one spelling per policy: "a, b" and "a,b" are one recipe
            names = [name.strip() for name in overrides["augment"].split(",")]
            overrides["augment"] = ",".join(name for name in names if name not in ("", "none"))
        if "terms" in overrides:  # the same for terms: "a=1, b=2" and "a=1,b=2" are one recipe
            names = [name.replace(" ", "") for name in overrides["terms"].split(",")]
            overrides["terms"] = ",".join(name for name in names if name not in ("", "none"))
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
        if self.generator:
            return os.path.join("runs", os.path.splitext(os.path.basename(self.generator))[0])
        if self.mode == "compare":
            return os.path.join(self.runs_root, self.experiment or "compare")
        suffix = "" if self.train_digit is None else f"-digit{self.train_digit}"
        return os.path.join(self.runs_root, self.arch + suffix)

    @property
    def runs_root(self) -> str:
        """runs for MNIST as stored; runs/<dataset>[-<size>] otherwise (a folder dataset by its
        folder's name)."""
        source = self.data_source
        return "runs" if source.plain_mnist else os.path.join("runs", source.label)

    @property
    def resolved_manual_dir(self) -> Optional[str]:
        """--manual_dir; for MNIST also --mnist_dir, else the CGAN_MNIST_DIR environment
        variable; else None."""
        if self.manual_dir or self.dataset != "mnist":
            return self.manual_dir
        return self.mnist_dir or os.environ.get(MNIST_DIR_ENV) or None

    @property
    def data_source(self) -> DataSource:
        """The training data this config names (cgan.data reads it)."""
        return DataSource(self.dataset, self.image_size, self.resolved_manual_dir, self.data_dir)
