"""Auxiliary-classifier GAN (Odena et al. 2017): the discriminator does not see the label; it
says real or fake and which digit, and the generator is rewarded when its digit is recognised."""

import keras
from keras import layers

from cgan.architectures import blocks
from cgan.registry import register


@register(
    "acgan", conditional=True, loss="bce", class_weight=1.0
)  # the paper weighs both terms equally
def build(
    image_shape,
    latent_dim,
    num_classes,
    minibatch_stddev=0,
    g_width=blocks.NARROWEST,
    d_width=blocks.NARROWEST,
):
    """Generator on [z, embed(label)]; discriminator with a real/fake logit and ten class logits."""
    generator = blocks.label_conditioned_generator(
        image_shape, latent_dim, num_classes, narrowest=g_width, name="acgan_generator"
    )
    images, labels, features = blocks.conv_features(
        image_shape, narrowest=d_width, minibatch_stddev=minibatch_stddev
    )
    outputs = [
        layers.Dense(1, dtype="float32")(features),
        blocks.class_logits(features, num_classes),
    ]
    return generator, keras.Model([images, labels], outputs, name="acgan_discriminator")
