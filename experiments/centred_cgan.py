"""A screening plugin: `cgan` whose generator ends by shifting each image by whole pixels so that
its centre of mass sits at the centre of the field, the preprocessing MNIST's own digits had
(LeCun et al. 1998). The discriminator then sees fakes centred as the reals are, and the saved
generator draws them so. It wraps cgan's builder (cgan.registry, not public API) and copies its
recipe; samples/README.md has what it scored:

    python run.py --import=experiments/centred_cgan.py --arch=cgan_centred
"""

import dataclasses

import keras
import tensorflow as tf

import cgan
from cgan import registry


@keras.saving.register_keras_serializable(package="centred_cgan")
class CentreOfMass(keras.layers.Layer):
    """(B, H, W, C) images in [-1, 1], each moved by round(centre - centre of mass) pixels on
    each axis, the background (-1) shifted in; the shift is a constant of the gradient."""

    def call(self, images):
        height, width = images.shape[1], images.shape[2]
        ink = tf.stop_gradient((tf.reduce_mean(tf.cast(images, tf.float32), -1) + 1.0) / 2.0)
        mass = tf.reduce_sum(ink, [1, 2]) + 1e-6
        shifts = []
        for axis, side in ((1, height), (2, width)):
            spread = tf.reduce_sum(ink, 3 - axis)  # (B, side): the ink along this axis
            centre = tf.reduce_sum(spread * tf.range(side, dtype=tf.float32), 1) / mass
            shifts.append(tf.cast(tf.round(side / 2 - centre), tf.int32))
        rows = tf.range(height)[None, :] - shifts[0][:, None]  # (B, H): the source row of each
        cols = tf.range(width)[None, :] - shifts[1][:, None]
        moved = tf.gather(images, tf.clip_by_value(rows, 0, height - 1), axis=1, batch_dims=1)
        moved = tf.gather(moved, tf.clip_by_value(cols, 0, width - 1), axis=2, batch_dims=1)
        rows_inside, cols_inside = (rows >= 0) & (rows < height), (cols >= 0) & (cols < width)
        inside = rows_inside[:, :, None, None] & cols_inside[:, None, :, None]
        return tf.where(inside, moved, tf.constant(-1.0, images.dtype))


BUILTIN = registry.get("cgan")


@cgan.register_architecture("cgan_centred", **dataclasses.asdict(BUILTIN.recipe))
def build(image_shape, latent_dim, num_classes, **options):
    generator, discriminator = BUILTIN.build(image_shape, latent_dim, num_classes, **options)
    centred = keras.Model(
        generator.inputs, CentreOfMass()(generator.outputs[0]), name="cgan_centred_generator"
    )
    return centred, discriminator
