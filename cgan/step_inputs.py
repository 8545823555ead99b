"""What one train step consumes, drawn in the input pipeline: the batch arranged by critic step,
and every random number of the step (noise, penalty weights, augmentation), from (seed, step)."""

import numpy as np
import tensorflow as tf

from cgan import augment, losses, terms


def arrange(step, images, labels, recipe, global_batch_size, seed, latent_dim):
    """Images and labels arranged (B, critic_steps, ...), so that splitting the batch over
    replicas splits every critic step alike, with one noise vector per generator pass (one per
    critic step, and one for a separate generator update), with the discriminator terms' draws
    (cgan.terms: a gradient penalty's interpolation weight) their numbers per critic-step example
    in "penalty_weights" (B, critic_steps x numbers), and with augmentation its numbers per pass,
    for the reals and the fakes. The random numbers are drawn from (seed, step) alone (by Philox
    on the host): the same on any number of replicas, after any resume."""
    k, batch = recipe.critic_steps, global_batch_size
    transforms = augment.parse(recipe.augment)
    # Row b: example b of every critic step. (A gather: an integer tf.transpose makes oneDNN
    # print "E ... oneDNN supports DT_INT32 only on platforms with AVX-512" on stderr.)
    order = np.arange(k * batch).reshape(k, batch).T.reshape(-1)
    if terms.pairs_reals(recipe):  # each critic step's reals in pairs of one label, for its fakes
        images, labels = _in_label_pairs(images, labels, k, batch)

    def example_major(x):
        return tf.reshape(tf.gather(x, order), tf.concat([[batch, k], tf.shape(x)[1:]], axis=0))

    # A third key only with augmentation: runs without it draw what they always drew.
    keys = tf.unstack(
        tf.random.experimental.stateless_split(
            tf.stack([tf.cast(seed, tf.int64), step]), num=3 if transforms else 2, alg="philox"
        )
    )
    passes = k if k == 1 else k + 1  # one critic step updates both networks from one pass
    inputs = {
        "images": example_major(images),
        "labels": example_major(labels),
        "noise": tf.random.stateless_normal(
            [batch, passes, latent_dim], seed=keys[0], alg="philox"
        ),
    }
    numbers = terms.draws_per_step(recipe)
    if numbers:  # critic step j's numbers are columns j * numbers to (j + 1) * numbers
        inputs["penalty_weights"] = tf.random.stateless_uniform(
            [batch, k * numbers], seed=keys[1], alg="philox"
        )
    if transforms:
        inputs["augment"] = tf.random.stateless_uniform(
            [batch, passes, 2, augment.DRAWS * len(transforms)], seed=keys[2], alg="philox"
        )
    return inputs


def _in_label_pairs(images, labels, k, batch):
    """Images and labels with each critic step's `batch` rows in cgan.losses.label_pair_order."""
    steps = [labels[j * batch : (j + 1) * batch] for j in range(k)]
    order = tf.concat([j * batch + losses.label_pair_order(x) for j, x in enumerate(steps)], 0)
    return tf.gather(images, order), tf.gather(labels, order)


def term_numbers(numbers, j, term_draws):
    """{term: (B, n)}: the uniform numbers of critic step j in arrange's "penalty_weights", n for
    each (term, n) of `term_draws` in order; None without any."""
    if numbers is None:
        return None
    per_step = sum(n for _, n in term_draws)
    numbers, out, start = numbers[:, j * per_step : (j + 1) * per_step], {}, 0
    for name, n in term_draws:
        out[name], start = numbers[:, start : start + n], start + n
    return out


def part(inputs, index):
    """inputs[:, index] of an optional step input (a pass's share, reals' or fakes' numbers)."""
    return None if inputs is None else inputs[:, index]
