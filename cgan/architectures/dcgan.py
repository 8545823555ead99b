"""The convolutional GAN of the TensorFlow DCGAN tutorial, with its models and optimizer."""

import keras
from keras import layers

from cgan.architectures import blocks
from cgan.registry import register


@register("dcgan", conditional=False, loss="bce", learning_rate=1e-4, beta_1=0.9)
def build(image_shape, latent_dim, num_classes):
    """Conv2DTranspose generator with BatchNorm; Conv2D + Dropout discriminator (tutorial sizes)."""
    z, labels = blocks.generator_inputs(latent_dim)
    x = blocks.seed_grid(z, image_shape, 256, activation="leaky_relu")
    x = blocks.up_block(x, 128, 5, strides=1, activation="leaky_relu")
    x = blocks.up_block(x, 64, 5, activation="leaky_relu")
    generator = keras.Model([z, labels], blocks.to_image(x, image_shape[-1], 5), name="dcgan_generator")

    images, labels = blocks.discriminator_inputs(image_shape)
    x = blocks.down_block(images, 64, 5, dropout=0.3)
    x = blocks.down_block(x, 128, 5, dropout=0.3)
    logits = layers.Dense(1, dtype="float32")(layers.Flatten()(x))
    discriminator = keras.Model([images, labels], logits, name="dcgan_discriminator")
    return generator, discriminator
