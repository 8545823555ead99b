"""Picks the tf.distribute strategy, so the same code runs on one CPU or several GPUs."""

import tensorflow as tf


def make_strategy():
    """MirroredStrategy for several GPUs, OneDeviceStrategy for one, the default strategy on CPU."""
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    if len(gpus) == 1:
        return tf.distribute.OneDeviceStrategy(gpus[0].name)
    return tf.distribute.get_strategy()
