"""The vanilla MLP GAN: fully connected generator and discriminator (Goodfellow et al. 2014)."""

import math

import keras
from keras import layers

from cgan.architectures import blocks
from cgan.registry import register


@register("dense", conditional=False)
def build(image_shape, latent_dim, num_classes, minibatch_stddev=0):
    """Dense + LeakyReLU + BatchNorm generator with tanh output; Dense + LeakyReLU discriminator."""
    z, labels = blocks.generator_inputs(latent_dim)
    x = z
    for width in (256, 512, 1024):  # widths of the classic Keras MNIST GAN
        x = layers.Dense(width)(x)
        x = layers.LeakyReLU(blocks.LEAK)(x)  # Keras' own: generator.keras loads without cgan
        x = blocks.batch_norm(momentum=0.8)(x)
    x = layers.Dense(math.prod(image_shape), activation="tanh", dtype="float32")(x)
    generator = keras.Model([z, labels], layers.Reshape(image_shape)(x), name="dense_generator")

    images, labels = blocks.discriminator_inputs(image_shape)
    x = layers.Flatten()(images)
    for width in (512, 256):
        x = layers.Dense(width)(x)
        x = blocks.LeakyReLU(blocks.LEAK)(x)
    logits = layers.Dense(1, dtype="float32")(blocks.with_minibatch_stddev(x, minibatch_stddev))
    discriminator = keras.Model([images, labels], logits, name="dense_discriminator")
    return generator, discriminator
