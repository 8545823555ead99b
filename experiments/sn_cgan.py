"""A worked cgan plugin, written against cgan's public API only: a spectral-normalised projection
discriminator (Miyato & Koyama 2018) against a generator with class-conditional batch norm
(de Vries et al. 2017, as in BigGAN), trained with a consistency term of its own (Zhang et al.
2020). No line of cgan knows it:

    python run.py --import=experiments/sn_cgan.py --arch=sn_cgan --digit=7
    python run.py --mode=compare --import=experiments/sn_cgan.py --archs=cgan_fast,sn_cgan
    python run.py --import=experiments/sn_cgan.py --arch=cgan --terms=consistency=10

From Python: cgan.import_plugins("experiments/sn_cgan.py"), then cgan.train(arch="sn_cgan").
"""

import keras
import tensorflow as tf
from keras import layers

import cgan

WIDTH = 64  # filters of the generator's last stage and the discriminator's first
SHIFT = 2  # pixels: the consistency term's translations, as digits shift in writing


@cgan.register_term("consistency", "discriminator", draws=2)
def consistency(step):
    """Consistency regularisation (CR-GAN): D should score a real image and the same image
    shifted by up to SHIFT pixels alike, (D(T(x)) - D(x))^2; its weight is --terms=consistency=W
    (10 in the paper)."""
    real = step.real
    height, width = real.shape[1], real.shape[2]
    padded = tf.pad(real, [[0, 0], [SHIFT, SHIFT], [SHIFT, SHIFT], [0, 0]], constant_values=-1.0)
    offsets = tf.floor(step.draws["consistency"] * (2 * SHIFT + 1))  # (B, 2) in 0..2 * SHIFT
    sides = tf.constant([height + 2 * SHIFT - 1, width + 2 * SHIFT - 1], tf.float32)
    corners = offsets / sides
    boxes = tf.concat(
        [corners, corners + tf.constant([height - 1, width - 1], tf.float32) / sides], 1
    )
    shifted = tf.image.crop_and_resize(  # whole-pixel boxes: a copy, no interpolation
        padded, boxes, tf.range(tf.shape(real)[0]), (height, width), method="nearest"
    )
    logits, _ = step.discriminate(tf.cast(shifted, real.dtype), step.labels)
    return tf.square(tf.reshape(logits - step.real_logits, [-1]))


@keras.saving.register_keras_serializable(package="sn_cgan")
class ConditionalBatchNorm(layers.Layer):
    """Batch norm whose scale and shift are looked up by label: each class gets its own
    (initialised to the identity), so one generator can draw every class in its own style."""

    def __init__(self, num_classes, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.norm = layers.BatchNormalization(center=False, scale=False)

    def build(self, input_shape):
        channels = input_shape[0][-1]
        self.gamma = layers.Embedding(self.num_classes, channels, embeddings_initializer="ones")
        self.beta = layers.Embedding(self.num_classes, channels, embeddings_initializer="zeros")
        self.norm.build(input_shape[0])
        self.gamma.build((None,))
        self.beta.build((None,))

    def call(self, inputs, training=False):
        x, labels = inputs
        labels = tf.reshape(tf.cast(labels, "int32"), [-1])
        gamma = tf.cast(self.gamma(labels), x.dtype)[:, None, None, :]
        beta = tf.cast(self.beta(labels), x.dtype)[:, None, None, :]
        return self.norm(x, training=training) * gamma + beta

    def get_config(self):
        return dict(super().get_config(), num_classes=self.num_classes)


def generator(image_shape, latent_dim, num_classes):
    """z -> a 7 x 7 (side / 4) map -> two upsamplings, each conditional-BN-ReLU-deconv -> tanh."""
    side, channels = image_shape[0] // 4, image_shape[-1]
    noise = keras.Input((latent_dim,), name="noise")
    labels = keras.Input((), dtype="int32", name="labels")
    x = layers.Dense(side * side * 2 * WIDTH, use_bias=False)(noise)
    x = layers.Reshape((side, side, 2 * WIDTH))(x)
    for filters in (2 * WIDTH, WIDTH):
        x = layers.ReLU()(ConditionalBatchNorm(num_classes)([x, labels]))
        x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False)(x)
    x = layers.ReLU()(ConditionalBatchNorm(num_classes)([x, labels]))
    images = layers.Conv2D(channels, 3, padding="same", activation="tanh", dtype="float32")(x)
    return keras.Model([noise, labels], images, name="sn_cgan_generator")


def discriminator(image_shape, num_classes):
    """Spectral-normalised strided convolutions, summed over space; the logit is a linear read
    of the features plus their projection on the label's embedding."""
    images = keras.Input(image_shape, name="images")
    labels = keras.Input((), dtype="int32", name="labels")
    x = images
    for filters in (WIDTH, 2 * WIDTH):
        x = layers.SpectralNormalization(layers.Conv2D(filters, 4, strides=2, padding="same"))(x)
        x = layers.LeakyReLU(0.1)(x)
    features = layers.GlobalAveragePooling2D()(x)
    linear = layers.SpectralNormalization(layers.Dense(1))(features)
    embedded = layers.Embedding(num_classes, 2 * WIDTH)(labels)
    projection = layers.Dot(axes=1)([embedded, features])
    logits = layers.Add(dtype="float32")([linear, projection])
    return keras.Model([images, labels], logits, name="sn_cgan_discriminator")


@cgan.register_architecture(
    "sn_cgan",
    conditional=True,
    loss="hinge",
    learning_rate=2e-4,
    beta_1=0.0,  # Miyato et al. 2018's hinge GANs: Adam (0, 0.9)
    beta_2=0.9,
    ema=0.999,
    terms="consistency=10",
)
def build(image_shape, latent_dim, num_classes):
    """cgan's architecture contract: (G([z, labels]) -> images in [-1, 1], D([images, labels]) ->
    logits (B, 1))."""
    return generator(image_shape, latent_dim, num_classes), discriminator(image_shape, num_classes)
