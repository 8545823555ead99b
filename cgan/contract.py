"""The architecture contract, checked on the networks a builder returns before anything is
written: G([z, labels]) -> images (n, H, W, C) in [-1, 1]; D([images, labels]) -> logits (n, 1),
or [logits (n, 1), class logits (n, K)] with a class head."""

import keras
import numpy as np

from cgan.errors import ContractError, first_line


def check(name, generator, discriminator, image_shape, latent_dim, num_classes, group=0):
    """Refuses (ContractError, one line naming what broke) networks that break the contract;
    calls each once at inference on two examples (labels 0 and K - 1; twice `group`, D's
    minibatch-stddev group, when it has one), which changes no weight."""
    probes = 2 * max(group, 1)
    height, width, channels = image_shape
    expected = (
        f"expected G([z, labels]) -> ({probes}, {height}, {width}, {channels}) in [-1, 1] and "
        f"D([images, labels]) -> logits ({probes}, 1) or [logits, class logits ({probes}, "
        f"{num_classes})]"
    )

    def broken(what):
        return ContractError(f"architecture {name!r} breaks the contract: {what}; {expected}")

    for role, model in (("generator", generator), ("discriminator", discriminator)):
        if not isinstance(model, keras.Model):
            raise broken(f"its {role} is a {type(model).__name__}, not a keras.Model")
    noise = keras.ops.convert_to_tensor(
        np.random.default_rng(0).standard_normal((probes, latent_dim)).astype(np.float32)
    )
    labels = keras.ops.convert_to_tensor(
        np.resize(np.array([0, num_classes - 1], np.int32), probes)
    )
    try:
        images = generator([noise, labels], training=False)
    except Exception as error:  # a user's builder: any failure is theirs to read in one line
        raise broken(f"G([z, labels]) failed: {first_line(error)}") from None
    if isinstance(images, (list, tuple)) or tuple(images.shape) != (probes, *image_shape):
        shape = [tuple(x.shape) for x in images] if isinstance(images, (list, tuple)) else None
        raise broken(f"G gave {shape or tuple(images.shape)}")
    pixels = np.asarray(images, np.float32)
    if not np.isfinite(pixels).all() or np.abs(pixels).max() > 1.0 + 1e-3:
        raise broken(f"G gave values in [{pixels.min():.3g}, {pixels.max():.3g}]")
    try:
        outputs = discriminator([images, labels], training=False)
    except Exception as error:
        raise broken(f"D([images, labels]) failed: {first_line(error)}") from None
    shapes = [
        tuple(x.shape) for x in (outputs if isinstance(outputs, (list, tuple)) else [outputs])
    ]
    if shapes not in ([(probes, 1)], [(probes, 1), (probes, num_classes)]):
        raise broken(f"D gave {shapes if len(shapes) > 1 else shapes[0]}")
