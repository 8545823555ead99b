"""Differentiable augmentation of what the discriminator sees (DiffAugment, Zhao et al. 2020):
the same random transforms on reals and fakes, gradients passing through to the generator.

Every transform takes a batch in [-1, 1] and per-example uniform numbers in [0, 1) (drawn with
the batch by the trainer, so replicas and resumes see the same ones); none flips, since a flipped
digit is another shape.
"""

import tensorflow as tf

from cgan.errors import CganError
from cgan.registry import Registry

TRANSLATION = 1 / 8  # the largest shift, as a share of the side (DiffAugment's)
CUTOUT = 1 / 2  # the side of the cut-out square, as a share of the image's (DiffAugment's)
DRAWS = 2  # uniform numbers each transform takes per example
# What shifts in and what is cut out: the range's lowest value, MNIST's black background (0 would
# be mid-grey in [-1, 1]).
BACKGROUND = -1.0

TRANSFORMS = Registry("augmentation")


def register_augmentation(name):
    """Decorator: registers `transform(images, draws) -> images`, images (B, H, W, C) in [-1, 1]
    and draws (B, DRAWS) uniform in [0, 1), differentiable in the images, under `name` (then
    --augment=NAME). Public as cgan.register_augmentation."""

    def decorate(transform):
        TRANSFORMS.register(name, transform, transform)
        return transform

    return decorate


@register_augmentation("translation")
def translation(images, draws):
    """Each image shifted by up to TRANSLATION of its side, down/right or up/left, whole pixels;
    what comes in at the edges is BACKGROUND (DiffAugment's padding is 0, mid-grey in [-1, 1]).
    draws: (B, 2) for (rows, columns)."""
    height, width = images.shape[1], images.shape[2]
    out = images
    for axis, side, draw in ((1, height, draws[:, 0]), (2, width, draws[:, 1])):
        most = int(side * TRANSLATION + 0.5)
        shift = tf.cast(tf.floor(draw * (2 * most + 1)), tf.int32) - most  # -most .. most
        source = tf.range(side)[None, :] - shift[:, None]  # (B, side): the row each row shows
        inside = (source >= 0) & (source < side)
        out = tf.gather(out, tf.clip_by_value(source, 0, side - 1), axis=axis, batch_dims=1)
        mask_shape = [-1, side, 1, 1] if axis == 1 else [-1, 1, side, 1]
        out = _filled(out, tf.reshape(inside, mask_shape))
    return out


@register_augmentation("cutout")
def cutout(images, draws):
    """Each image with a square of CUTOUT of its side set to BACKGROUND, centred anywhere on the
    image (it may hang over an edge). draws: (B, 2) for the centre's row and column."""
    height, width = images.shape[1], images.shape[2]
    masks = []
    for side, draw in ((height, draws[:, 0]), (width, draws[:, 1])):
        size = int(side * CUTOUT + 0.5)
        centre = tf.cast(tf.floor(draw * side), tf.int32)
        start = centre - size // 2
        index = tf.range(side)[None, :]
        masks.append((index >= start[:, None]) & (index < start[:, None] + size))
    cut = masks[0][:, :, None] & masks[1][:, None, :]  # (B, H, W)
    return _filled(images, ~cut[..., None])


def _filled(images, keep):
    """`images` where `keep` (broadcast to them) is true, BACKGROUND elsewhere; gradients pass
    through the kept pixels."""
    keep = tf.cast(keep, images.dtype)
    return images * keep + BACKGROUND * (1.0 - keep)


def parse(policy):
    """The transform names of a policy such as "translation,cutout" ("" for none), checked."""
    names = tuple(name.strip() for name in policy.split(",") if name.strip())
    unknown = [name for name in names if name not in TRANSFORMS]
    if unknown:
        raise CganError(
            f"--augment: unknown augmentation {unknown[0]!r}; known: "
            f"{', '.join(sorted(TRANSFORMS))}"
        )
    return names


def apply(images, draws, names):
    """`images` through the named transforms in order; draws: (B, DRAWS * len(names))."""
    for index, name in enumerate(names):
        images = TRANSFORMS.get(name)(images, draws[:, DRAWS * index : DRAWS * (index + 1)])
    return images
