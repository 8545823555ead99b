"""The convolutional GAN of the TensorFlow DCGAN tutorial: its models, trained with Radford et al.'s
Adam (2e-4, beta_1 0.5; the registry's default) instead of the tutorial's (1e-4, 0.9), which drew
only some of the digits (samples/README.md, "Every architecture, 15 minutes each")."""

import keras
from keras import layers

from cgan.architectures import blocks
from cgan.registry import register


@register("dcgan", conditional=False, loss="bce")
def build(
    image_shape,
    latent_dim,
    num_classes,
    minibatch_stddev=0,
    g_width=blocks.NARROWEST,
    d_width=blocks.NARROWEST,
):
    """Conv2DTranspose generator with BatchNorm; Conv2D + Dropout discriminator (the tutorial's
    sizes at 28 x 28: widths (128, 64); a stage more per doubling of larger images)."""
    widths = blocks.stage_widths(image_shape, g_width)
    z, labels = blocks.generator_inputs(latent_dim)
    x = blocks.seed_grid(z, image_shape, 2 * widths[0], activation="leaky_relu")
    x = blocks.up_block(x, widths[0], 5, strides=1, activation="leaky_relu")
    for filters in widths[1:]:
        x = blocks.up_block(x, filters, 5, activation="leaky_relu")
    generator = keras.Model(
        [z, labels], blocks.to_image(x, image_shape[-1], 5), name="dcgan_generator"
    )

    images, labels = blocks.discriminator_inputs(image_shape)
    x = images
    for filters in blocks.stage_widths(image_shape, d_width)[::-1]:
        x = blocks.down_block(x, filters, 5, dropout=0.3)
    x = blocks.with_minibatch_stddev(x, minibatch_stddev)
    logits = layers.Dense(1, dtype="float32")(layers.Flatten()(x))
    discriminator = keras.Model([images, labels], logits, name="dcgan_discriminator")
    return generator, discriminator
