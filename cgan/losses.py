"""Adversarial losses, registered by name, and the maths of the terms added to them (the gradient
penalties, the mode-seeking term; cgan.terms registers those).

A registered loss has two sides, each a function of the step's value (cgan.terms.Step) returning
one value per example (shape (B,)); the trainer sums and divides by the global batch, so the
same code is right on any number of replicas.
"""

import dataclasses
from typing import Callable

import tensorflow as tf

from cgan.registry import Registry


@dataclasses.dataclass(frozen=True)
class AdversarialLoss:
    """A discriminator loss and its generator loss, both step -> (B,)."""

    name: str
    discriminator: Callable
    generator: Callable
    has_accuracy: bool  # do logit signs mean real/fake? (not for a Wasserstein critic)
    pairs: bool = False  # does the generator loss read step.real_logits (row i with fake i)?


LOSSES = Registry("loss")


def register_loss(
    name: str,
    discriminator: Callable,
    generator: Callable,
    has_accuracy: bool = False,
    pairs: bool = False,
) -> AdversarialLoss:
    """Registers an adversarial loss under `name` (then --loss=NAME): `discriminator(step)` and
    `generator(step)` each return one value per example (B,) from a cgan.terms.Step.
    `has_accuracy`: positive logits mean "real" (d_accuracy is reported); `pairs`: the generator
    side reads step.real_logits (or step.paired_real_logits). Public as cgan.register_loss."""
    loss = AdversarialLoss(name, discriminator, generator, has_accuracy, pairs)
    return LOSSES.register(name, loss, discriminator)


def _flat(logits):
    return tf.reshape(logits, [-1])


def bce_discriminator(real_logits, fake_logits):
    """Binary cross-entropy on logits: -log D(x) - log(1 - D(G(z)))."""
    return tf.nn.softplus(-_flat(real_logits)) + tf.nn.softplus(_flat(fake_logits))


def bce_generator(fake_logits):
    """Non-saturating generator loss of Goodfellow et al. 2014: -log D(G(z))."""
    return tf.nn.softplus(-_flat(fake_logits))


def hinge_discriminator(real_logits, fake_logits):
    """Hinge loss (Lim & Ye 2017, Miyato et al. 2018)."""
    return tf.nn.relu(1.0 - _flat(real_logits)) + tf.nn.relu(1.0 + _flat(fake_logits))


def wasserstein_discriminator(real_logits, fake_logits):
    """Critic loss of Arjovsky et al. 2017: E[C(G(z))] - E[C(x)]."""
    return _flat(fake_logits) - _flat(real_logits)


def wasserstein_generator(fake_logits):
    """-E[C(G(z))]; also the generator side of the hinge loss."""
    return -_flat(fake_logits)


def relativistic_discriminator(real_logits, fake_logits):
    """Relativistic pairing loss (RpGAN, Jolicoeur-Martineau 2019; R3GAN, Huang et al. 2024):
    softplus(D(G(z)) - D(x)), each real against the fake of its row."""
    return tf.nn.softplus(_flat(fake_logits) - _flat(real_logits))


def relativistic_generator(real_logits, fake_logits):
    """The generator's side of the pairing loss: softplus(D(x) - D(G(z)))."""
    return tf.nn.softplus(_flat(real_logits) - _flat(fake_logits))


register_loss(
    "bce",
    lambda step: bce_discriminator(step.real_logits, step.fake_logits),
    lambda step: bce_generator(step.fake_logits),
    has_accuracy=True,
)
register_loss(
    "hinge",
    lambda step: hinge_discriminator(step.real_logits, step.fake_logits),
    lambda step: wasserstein_generator(step.fake_logits),
    has_accuracy=True,
)
register_loss(  # each fake against the real whose label it was drawn for
    "relativistic",
    lambda step: relativistic_discriminator(step.paired_real_logits, step.fake_logits),
    lambda step: relativistic_generator(step.paired_real_logits, step.fake_logits),
    pairs=True,
)
register_loss(
    "wasserstein",
    lambda step: wasserstein_discriminator(step.real_logits, step.fake_logits),
    lambda step: wasserstein_generator(step.fake_logits),
)


def get_loss(name: str) -> AdversarialLoss:
    """The loss registered under `name`; an unknown name lists the known ones."""
    return LOSSES.get(name)


def gradient_penalty(critic, real, fake, weights):
    """WGAN-GP penalty (Gulrajani et al. 2017): (||grad D(x_hat)|| - 1)^2 per example.

    `critic` maps a batch of images to logits (the trainer binds the labels). x_hat lies on the
    line between a real and a fake image: `weights` holds one weight per example, drawn uniformly
    from [0, 1] (not per pixel, not normal). The trainer draws them with the batch
    (GANTrainer.step_inputs), so they do not depend on how the batch is split over replicas.
    """
    weight = tf.reshape(tf.cast(weights, real.dtype), [-1, 1, 1, 1])
    interpolates = weight * real + (1.0 - weight) * fake
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        logits = critic(interpolates)
    grads = tape.gradient(logits, interpolates)
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]) + 1e-12)
    return tf.square(norms - 1.0)


def squared_gradient_norm(gradients):
    """||grad||^2 per example: with weight gamma / 2, R1 on reals and R2 on fakes (Mescheder et
    al. 2018; zero-centred, unlike WGAN-GP's)."""
    return tf.reduce_sum(tf.square(tf.cast(gradients, tf.float32)), axis=[1, 2, 3])


def mode_seeking(fake, noise):
    """Mode-seeking term of Mao et al. 2019 (MSGAN), one value per example:
    1 / (d_image / d_z + 1e-5) of the pair the example belongs to, the pairs being adjacent rows
    (0 and 1, 2 and 3, ...) drawn for one label, d a mean absolute difference. It is large when
    two noise vectors give nearly the same image, so the generator lowers it by spreading its
    samples out."""
    pairs = tf.shape(fake)[0] // 2

    def pair_distance(x):
        x = tf.reshape(tf.cast(x, tf.float32), [pairs, 2, -1])
        return tf.reduce_mean(tf.abs(x[:, 0] - x[:, 1]), axis=-1)

    per_pair = 1.0 / (pair_distance(fake) / pair_distance(noise) + 1e-5)
    return tf.repeat(per_pair, 2)


def top_k(per_example, fake_logits, progress, share):
    """The generator's per-example loss on the fakes D scores highest only (Sinha et al. 2020),
    scaled by B / k so that it stays a mean over the fakes kept: k of the B rows, the kept share
    falling linearly from 1 at progress 0 to `share` at progress 1. Ties at the k-th score are
    all kept. The rows are this replica's: over several replicas each keeps its own best."""
    scores = tf.cast(_flat(fake_logits), tf.float32)
    rows = tf.cast(tf.size(scores), tf.float32)
    kept = 1.0 - (1.0 - share) * tf.cast(progress, tf.float32)
    # float rounding must not add a row (0.75 * 4 is 3, not 3.0000002)
    k = tf.maximum(1, tf.cast(tf.math.ceil(kept * rows - 1e-4), tf.int32))
    kth = tf.math.top_k(scores, k).values[-1]
    keep = tf.cast(scores >= kth, per_example.dtype)
    return per_example * keep * tf.cast(rows / tf.cast(k, tf.float32), per_example.dtype)


def paired_rows(rows):
    """`rows` with each odd row replaced by its even neighbour: the labels of the pairs
    mode_seeking compares (the fakes of rows 2i and 2i+1 are drawn for the label of row 2i)."""
    return tf.repeat(rows[::2], 2, axis=0)


def label_pair_order(labels):
    """The order of a batch's rows (a permutation, int32 (B,)) that sets them in pairs of rows
    (2i, 2i+1) sharing a label wherever the counts allow: each label's rows two by two, by
    label, then the last row of each label of odd count, paired among themselves. A pairing loss
    then sets real i against fake i, drawn for row 2i's label (paired_rows): every real once, and
    only the second row of a pair of two odd-count labels meets a fake of another label, one per
    two odd counts, the fewest any pairs of one label can leave (an odd count cannot be split
    into pairs)."""
    labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
    rows = tf.range(tf.shape(labels)[0])
    same = tf.equal(labels[:, None], labels[None, :])
    earlier = tf.logical_and(same, rows[None, :] < rows[:, None])
    rank = tf.reduce_sum(tf.cast(earlier, tf.int32), axis=1)  # earlier rows of this row's label
    count = tf.reduce_sum(tf.cast(same, tf.int32), axis=1)
    leftover = tf.logical_and(count % 2 == 1, rank == count - 1)
    key = labels + tf.cast(leftover, tf.int32) * (tf.reduce_max(labels) + 1)
    return tf.argsort(key, stable=True)
