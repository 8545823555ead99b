"""cgan: conditional GANs on MNIST-style digits, one trainer for every architecture."""

from cgan import architectures  # noqa: F401  (registers every architecture)
from cgan.config import Config
from cgan.errors import CganError

__all__ = ["Config", "CganError"]
