"""cgan: conditional GANs on MNIST-style digits, one trainer for every architecture.

import cgan
run = cgan.train(arch="cgan", epochs=1)       # or cgan.train(cgan.Config(...))
images = run.generator.sample(digit=7, n=16)  # uint8 (16, 28, 28)
cgan.evaluate(run)["fid"]

Extending: cgan.register_architecture, register_loss, register_term (a function of one
cgan.Step), register_augmentation, register_schedule, register_metric, register_experiment,
register_callback.
"""

from cgan import quiet  # noqa: F401, I001  (first: TensorFlow imported without its chatter)
from cgan import architectures  # noqa: F401  (registers every architecture)
from cgan.api import Run, compare, evaluate, export, import_plugins, load, make_config, train
from cgan.augment import register_augmentation
from cgan.config import Config
from cgan.errors import CganError
from cgan.generator import Generator
from cgan.keras_model import GAN
from cgan.losses import register_loss
from cgan.metric_registry import register_metric
from cgan.registry import Recipe, register_callback, register_experiment
from cgan.registry import register as register_architecture
from cgan.schedules import register_schedule
from cgan.terms import Step, register_term

__all__ = [
    "CganError",
    "Config",
    "GAN",
    "Generator",
    "Recipe",
    "Run",
    "Step",
    "compare",
    "evaluate",
    "export",
    "import_plugins",
    "load",
    "make_config",
    "register_architecture",
    "register_augmentation",
    "register_callback",
    "register_experiment",
    "register_loss",
    "register_metric",
    "register_schedule",
    "register_term",
    "train",
]
