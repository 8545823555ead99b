"""WGAN-GP (Gulrajani et al. 2017): Wasserstein loss, gradient penalty, a critic without
BatchNorm."""

import keras
from keras import layers

from cgan.architectures import blocks
from cgan.registry import register

# The training recipe of Gulrajani et al. 2017, shared with the conditional cwgan_gp.
PAPER_RECIPE = dict(
    loss="wasserstein",
    gradient_penalty=10.0,  # lambda of the paper
    critic_steps=5,  # n_critic of the paper
    learning_rate=1e-4,
    beta_1=0.5,
    beta_2=0.9,  # the paper's Adam settings
)


@register("wgan_gp", conditional=False, **PAPER_RECIPE)
def build(
    image_shape,
    latent_dim,
    num_classes,
    minibatch_stddev=0,
    g_width=blocks.NARROWEST,
    d_width=blocks.NARROWEST,
):
    """DCGAN-style generator; critic of strided convolutions with no normalization (widths
    (128, 64) at 28 x 28, a stage more per doubling of larger images)."""
    widths = blocks.stage_widths(image_shape, g_width)
    z, labels = blocks.generator_inputs(latent_dim)
    x = blocks.seed_grid(z, image_shape, widths[0])
    for filters in widths[1:]:
        x = blocks.up_block(x, filters, 4)
    generator = keras.Model(
        [z, labels], blocks.to_image(x, image_shape[-1], 4), name="wgan_gp_generator"
    )

    images, labels = blocks.discriminator_inputs(image_shape)
    x = images
    for filters in blocks.stage_widths(image_shape, d_width)[::-1]:
        x = blocks.down_block(x, filters, 4)
    x = blocks.with_minibatch_stddev(x, minibatch_stddev)
    logits = layers.Dense(1, dtype="float32")(layers.Flatten()(x))
    critic = keras.Model([images, labels], logits, name="wgan_gp_critic")
    return generator, critic
