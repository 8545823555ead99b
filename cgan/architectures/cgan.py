"""Label-conditioned GAN: the label is embedded in the generator and projected in the discriminator."""

import keras
from keras import layers

from cgan.architectures import blocks
from cgan.registry import register

KERNEL = 3  # 3x3 runs 2.7x faster than 4x4 on a CPU (oneDNN) and draws digits as well


@register("cgan", conditional=True, loss="hinge", ema=0.999)
def build(image_shape, latent_dim, num_classes):
    """Generator on [z, embed(label)]; projection discriminator over strided convolutions."""
    z, labels = blocks.generator_inputs(latent_dim)
    x = blocks.with_label_embedding(z, labels, num_classes, dim=32)
    x = blocks.seed_grid(x, image_shape, 128)
    x = blocks.up_block(x, 64, KERNEL)
    generator = keras.Model([z, labels], blocks.to_image(x, image_shape[-1], KERNEL), name="cgan_generator")

    images, labels = blocks.discriminator_inputs(image_shape)
    x = blocks.down_block(images, 64, KERNEL)
    x = blocks.down_block(x, 128, KERNEL)
    logits = blocks.projection_logits(layers.Flatten()(x), labels, num_classes)
    discriminator = keras.Model([images, labels], logits, name="cgan_discriminator")
    return generator, discriminator
