"""cgan: conditional GANs on MNIST-style digits, one trainer for every architecture.

import cgan
run = cgan.train(arch="cgan", epochs=1)       # or cgan.train(cgan.Config(...))
images = run.generator.sample(digit=7, n=16)  # uint8 (16, 28, 28)
cgan.evaluate(run)["fid"]
"""

from cgan import quiet  # noqa: F401, I001  (first: TensorFlow imported without its chatter)
from cgan import architectures  # noqa: F401  (registers every architecture)
from cgan.api import Run, compare, evaluate, export, import_plugins, load, make_config, train
from cgan.config import Config
from cgan.errors import CganError
from cgan.generator import Generator

__all__ = [
    "CganError",
    "Config",
    "Generator",
    "Run",
    "compare",
    "evaluate",
    "export",
    "import_plugins",
    "load",
    "make_config",
    "train",
]
