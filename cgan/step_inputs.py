"""What one train step consumes, drawn in the input pipeline: the batch arranged by critic step,
and every random number of the step (noise, penalty weights, augmentation), from (seed, step)."""

import numpy as np
import tensorflow as tf

from cgan import augment


def arrange(step, images, labels, recipe, global_batch_size, seed, latent_dim):
    """Images and labels arranged (B, critic_steps, ...), so that splitting the batch over
    replicas splits every critic step alike, with one noise vector per generator pass (one per
    critic step, and one for a separate generator update), with a gradient penalty one
    interpolation weight per critic-step example, and with augmentation its numbers per pass,
    for the reals and the fakes. The random numbers are drawn from (seed, step) alone (by Philox
    on the host): the same on any number of replicas, after any resume."""
    k, batch = recipe.critic_steps, global_batch_size
    transforms = augment.parse(recipe.augment)
    # Row b: example b of every critic step. (A gather: an integer tf.transpose makes oneDNN
    # print "E ... oneDNN supports DT_INT32 only on platforms with AVX-512" on stderr.)
    order = np.arange(k * batch).reshape(k, batch).T.reshape(-1)

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
    if recipe.gradient_penalty:
        inputs["penalty_weights"] = tf.random.stateless_uniform(
            [batch, k], seed=keys[1], alg="philox"
        )
    if transforms:
        inputs["augment"] = tf.random.stateless_uniform(
            [batch, passes, 2, augment.DRAWS * len(transforms)], seed=keys[2], alg="philox"
        )
    return inputs
