"""Importing this package registers every architecture: add one import line per new file."""

from cgan.architectures import acgan, cgan, cgan_fast, cgan_proj, cwgan_gp, dcgan, dense, wgan_gp  # noqa: F401  (registration)
