"""Conditional WGAN-GP: the Wasserstein loss and gradient penalty of Gulrajani et al. 2017 with a
projection critic (Miyato & Koyama 2018), which has no batch norm, as the penalty requires."""

import keras

from cgan.architectures import blocks, wgan_gp
from cgan.registry import register


@register("cwgan_gp", conditional=True, **wgan_gp.PAPER_RECIPE)
def build(
    image_shape,
    latent_dim,
    num_classes,
    minibatch_stddev=0,
    g_width=blocks.NARROWEST,
    d_width=blocks.NARROWEST,
):
    """Generator on [z, embed(label)]; critic psi(h) + <embed(y), h> over strided convolutions."""
    generator = blocks.label_conditioned_generator(
        image_shape, latent_dim, num_classes, narrowest=g_width, name="cwgan_gp_generator"
    )
    images, labels, features = blocks.conv_features(
        image_shape, narrowest=d_width, minibatch_stddev=minibatch_stddev
    )
    logits = blocks.projection_logits(features, labels, num_classes)
    return generator, keras.Model([images, labels], logits, name="cwgan_gp_critic")
