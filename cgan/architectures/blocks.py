"""Building blocks shared by the architectures, so no architecture repeats another.

Every generator takes [z, labels] and every discriminator [images, labels]
(compare_gan's one call signature); unconditional models simply ignore labels.
"""

import contextlib
import contextvars

import keras
import tensorflow as tf
from keras import layers

LEAK = 0.2  # LeakyReLU slope of Radford et al. 2015, used by every discriminator here
SEED_SIDE = 8  # generators start from a map of at most 8 x 8 (7 x 7 for MNIST), as DCGAN does
NARROWEST = 64  # filters of a generator's last stage (a discriminator's first): DCGAN's at 28 x 28
# Replicas normalize with the statistics of the global batch, so training on several devices
# matches one device; synchronized_batch_norm(False) is the only way to turn it off.
_SYNCHRONIZED = contextvars.ContextVar("synchronized_batch_norm", default=True)


@contextlib.contextmanager
def synchronized_batch_norm(synchronized):
    """Batch norm of models built inside synchronizes over replicas or not: lets a benchmark
    measure what synchronizing costs (experiments/benchmark.py)."""
    token = _SYNCHRONIZED.set(synchronized)
    try:
        yield
    finally:
        _SYNCHRONIZED.reset(token)


def batch_norm(**options):
    """Batch normalization over the global batch, however many replicas share it."""
    return layers.BatchNormalization(synchronized=_SYNCHRONIZED.get(), **options)


@keras.saving.register_keras_serializable(package="cgan")
class GlobalBatchDropout(layers.Dropout):
    """Dropout whose mask is drawn for the global batch and cut to this replica's share: a batch
    split over replicas is masked exactly as on one device (Keras' Dropout draws each replica's
    mask from the same seed, so replicas would repeat one another's masks)."""

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        replica = tf.distribute.get_replica_context()  # None in cross-replica context: one copy
        replicas, index = (
            (replica.num_replicas_in_sync, replica.replica_id_in_sync_group) if replica else (1, 0)
        )
        local = tf.shape(inputs)[0]
        shape = tf.concat([[local * replicas], tf.shape(inputs)[1:]], axis=0)
        # Philox by name: the default lets each device pick its algorithm.
        # (XLA draws other numbers still.)
        keep = (
            tf.random.stateless_uniform(shape, seed=self.seed_generator.next(), alg="philox")
            >= self.rate
        )
        keep = keep[index * local : (index + 1) * local]
        return tf.where(keep, inputs / (1.0 - self.rate), tf.zeros_like(inputs))


@keras.saving.register_keras_serializable(package="cgan")
class MinibatchStddev(layers.Layer):
    """Karras et al. 2018's minibatch standard deviation: for each group of `group_size`
    examples, the standard deviation of every feature over the group, averaged into one number,
    appended as a constant channel (a feature for flat inputs). A discriminator then sees how
    varied a batch is, so under-dispersed fakes are told apart. A group takes every other row of
    a block of 2 x group_size consecutive rows (rows 2m + p of the block, one parity p), so the
    two fakes of a mode-seeking pair (rows 2i and 2i + 1, one label) fall in different groups and
    a group tells of diversity, not of the label mix; and a batch split over replicas in
    multiples of the block is grouped as on one device."""

    def __init__(self, group_size=4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = group_size

    def call(self, x):
        shape = tf.shape(x)
        groups = tf.reshape(  # in float32: bfloat16 keeps 8 bits of a difference of squares
            tf.cast(x, tf.float32), tf.concat([[-1, self.group_size, 2], shape[1:]], axis=0)
        )  # (blocks, G, 2, features...): row 2G b + 2m + p is member m of group (b, p)
        centred = groups - tf.reduce_mean(groups, axis=1, keepdims=True)
        std = tf.sqrt(tf.reduce_mean(tf.square(centred), axis=1) + 1e-8)  # (blocks, 2, ...)
        spread = tf.reduce_mean(std, axis=list(range(2, len(x.shape) + 1)))  # (blocks, 2)
        per_example = tf.reshape(tf.repeat(spread[:, None], self.group_size, axis=1), [-1])
        channel = tf.ones_like(x[..., :1]) * tf.reshape(
            per_example, [-1] + [1] * (len(x.shape) - 1)
        )
        return tf.concat([x, tf.cast(channel, x.dtype)], axis=-1)

    def get_config(self):
        return dict(super().get_config(), group_size=self.group_size)


def with_minibatch_stddev(x, group_size):
    """x with Karras et al.'s spread feature appended (MinibatchStddev), or x when 0."""
    return MinibatchStddev(group_size)(x) if group_size else x


def leaky_relu(x, slope=LEAK):
    """tf.nn.leaky_relu whose gradient reads its output instead of its input: the same numbers
    (a positive slope keeps the signs), and the input, a bias's output, is then free for
    Grappler's remapper to fuse with the layer before."""

    @tf.custom_gradient
    def forward(x):
        y = tf.nn.leaky_relu(x, slope)
        # Stopped: a second derivative (R1, the gradient penalty) is zero through the signs, and
        # would otherwise reach the input through the forward op's own gradient.
        signs = tf.stop_gradient(y)
        return y, lambda dy: tf.raw_ops.LeakyReluGrad(gradients=dy, features=signs, alpha=slope)

    return forward(x)


@keras.saving.register_keras_serializable(package="cgan")
class LeakyReLU(layers.LeakyReLU):
    """Keras' LeakyReLU computed by leaky_relu, so a remapper fusion cannot fail on its gradient."""

    def call(self, inputs):
        return leaky_relu(inputs, self.negative_slope)


def generator_inputs(latent_dim):
    """Inputs of every generator: a noise vector and an integer label."""
    return keras.Input((latent_dim,), name="z"), keras.Input((), dtype="int32", name="labels")


def discriminator_inputs(image_shape):
    """Inputs of every discriminator: an image in [-1, 1] and an integer label."""
    return keras.Input(image_shape, name="images"), keras.Input((), dtype="int32", name="labels")


def upsamplings(image_shape):
    """How many times a generator doubles its seed map to reach the image (and a discriminator
    halves the image): two, and one more while both sides stay even and the seed larger than
    SEED_SIDE. 2 for 28 x 28 (seed 7 x 7) and 32 x 32 (8 x 8), 3 for 64 x 64, 4 for 128 x 128."""
    count = 2
    while (
        all(side % 2 ** (count + 1) == 0 for side in image_shape[:2])
        and min(image_shape[:2]) >> count > SEED_SIDE
    ):
        count += 1
    return count


def stage_widths(image_shape, narrowest=NARROWEST):
    """Filters of a generator's stages, widest first, one per doubling: `narrowest` at the last
    stage and twice as many at each one before it ((128, 64) for MNIST). A discriminator uses
    them in reverse."""
    return tuple(narrowest << stage for stage in reversed(range(upsamplings(image_shape))))


def seed_grid(x, image_shape, filters, activation="relu"):
    """Dense projection of a vector to the smallest feature map, (H/2^k, W/2^k, filters),
    k = upsamplings."""
    count = upsamplings(image_shape)
    height, width = image_shape[0] >> count, image_shape[1] >> count
    x = layers.Dense(height * width * filters, use_bias=False)(x)  # BN makes the bias redundant
    x = batch_norm()(x)
    x = layers.Activation(activation)(x)
    return layers.Reshape((height, width, filters))(x)


def up_block(x, filters, kernel_size, strides=2, activation="relu"):
    """Transposed convolution, batch norm, activation: doubles the size when strides=2."""
    x = layers.Conv2DTranspose(filters, kernel_size, strides, padding="same", use_bias=False)(x)
    x = batch_norm()(x)
    return layers.Activation(activation)(x)


def to_image(x, channels, kernel_size):
    """Last upsampling to the image itself, squashed into [-1, 1] by tanh."""
    return layers.Conv2DTranspose(
        channels, kernel_size, strides=2, padding="same", activation="tanh", dtype="float32"
    )(x)


def down_block(x, filters, kernel_size, dropout=0.0, strides=2):
    """Convolution and LeakyReLU (no normalization: safe for a WGAN-GP critic); halves the size
    when strides=2."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding="same")(x)
    x = LeakyReLU(LEAK)(x)
    return GlobalBatchDropout(dropout)(x) if dropout else x


def with_label_embedding(z, labels, num_classes, dim):
    """Concatenates a learned label embedding to the noise vector (Mirza & Osindero 2014)."""
    embedded = layers.Embedding(num_classes, dim)(labels)
    return layers.Concatenate()([z, embedded])


def projection_logits(features, labels, num_classes):
    """Logits of a projection discriminator (Miyato & Koyama 2018): psi(h) + <embed(y), h>."""
    unconditional = layers.Dense(1, dtype="float32")(features)
    embedded = layers.Embedding(num_classes, features.shape[-1])(labels)
    projection = layers.Dot(axes=1)([embedded, features])
    return layers.Add(dtype="float32")([unconditional, projection])


def label_conditioned_generator(
    image_shape, latent_dim, num_classes, kernel_size=3, narrowest=NARROWEST, name="generator"
):
    """[z, label] -> image: a label embedding beside z, a dense seed map of widths[0] filters
    (widths = stage_widths(image_shape, narrowest)), one transposed convolution (x2) per further
    width, one at the same size, a last one to the image."""
    widths = stage_widths(image_shape, narrowest)
    z, labels = generator_inputs(latent_dim)
    x = with_label_embedding(z, labels, num_classes, dim=32)  # 32 numbers are plenty for 10 labels
    x = seed_grid(x, image_shape, widths[0])
    for filters in widths[1:]:
        x = up_block(x, filters, kernel_size)
    x = up_block(
        x, widths[-1], kernel_size, strides=1
    )  # see conv_features: the two extra layers go together
    return keras.Model([z, labels], to_image(x, image_shape[-1], kernel_size), name=name)


def conv_features(image_shape, kernel_size=3, narrowest=NARROWEST, minibatch_stddev=0):
    """(images input, labels input, flat features): strided convolutions (stage_widths(image_shape,
    narrowest) in reverse: (64, 128) for MNIST) and one more at the smallest size, no normalization;
    with `minibatch_stddev`, the spread feature (MinibatchStddev) before that last one.

    The extra stride-1 layer here and in label_conditioned_generator costs speed per image but
    saves more in the images a given FID needs; the generator's alone collapsed modes.
    """
    widths = stage_widths(image_shape, narrowest)[::-1]
    images, labels = discriminator_inputs(image_shape)
    x = images
    for filters in widths:
        x = down_block(x, filters, kernel_size)
    x = with_minibatch_stddev(x, minibatch_stddev)
    x = down_block(x, widths[-1], kernel_size, strides=1)
    return images, labels, layers.Flatten()(x)


def class_logits(features, num_classes):
    """An auxiliary classifier head (Odena et al. 2017): logits, the softmax is in the loss."""
    return layers.Dense(num_classes, dtype="float32", name="class_logits")(features)
