"""Process-wide TensorFlow settings, made once by each entry point (run.py, the experiments)."""

import contextlib

import keras
import tensorflow as tf

from cgan.config import MIXED_PRECISION


def configure(config):
    """Applies the settings that hold for the rest of the process, for the modes that train:
    run.py calls it once, and cgan.modes.train.train again (a no-op then), so that a library
    call trains as run.py does. Generate and evaluate modes change nothing."""
    if config.mode not in ("train", "compare"):
        return
    # Grappler's remapper cannot fuse Conv2D + BiasAdd + LeakyReLU when the gradient needs the
    # BiasAdd output, and prints an error line on every run before leaving the graph unfused.
    tf.config.optimizer.set_experimental_options({"remapping": False})
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()  # there is no "off" once it is on


@contextlib.contextmanager
def compute_dtype(mixed_precision):
    """Layers made inside compute in --mixed_precision's type; Keras reads its policy when a layer
    is made and keeps one for the whole process, so it is put back after."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(MIXED_PRECISION[mixed_precision])
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)
