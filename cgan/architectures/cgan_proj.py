"""Projection-discriminator cGAN (Miyato & Koyama 2018) with no tricks: no class head, no weight
averaging, the DCGAN learning rate. It shows what the default cgan's additions buy."""

import keras

from cgan.architectures import blocks
from cgan.registry import register


@register("cgan_proj", conditional=True, loss="hinge")
def build(
    image_shape,
    latent_dim,
    num_classes,
    minibatch_stddev=0,
    g_width=blocks.NARROWEST,
    d_width=blocks.NARROWEST,
):
    """Generator on [z, embed(label)]; discriminator psi(h) + <embed(y), h> over strided
    convolutions."""
    generator = blocks.label_conditioned_generator(
        image_shape, latent_dim, num_classes, narrowest=g_width, name="cgan_proj_generator"
    )
    images, labels, features = blocks.conv_features(
        image_shape, narrowest=d_width, minibatch_stddev=minibatch_stddev
    )
    logits = blocks.projection_logits(features, labels, num_classes)
    return generator, keras.Model([images, labels], logits, name="cgan_proj_discriminator")
