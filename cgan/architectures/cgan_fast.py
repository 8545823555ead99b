"""The default cgan at three quarters of its widths, for CPUs: the same recipe, G's stage widths
(96, 48) instead of (128, 64) and D's (24, 48) instead of (32, 64), about 56% (0.75 squared) of
the arithmetic per image. Its measured speed and quality are in samples/README.md ("A fast
configuration")."""

import dataclasses
import functools

from cgan import registry
from cgan.architectures import cgan

registry.register("cgan_fast", **dataclasses.asdict(registry.get("cgan").recipe))(
    functools.partial(cgan.build, g_width=48, d_width=24, name="cgan_fast")
)
