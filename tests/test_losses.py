"""Losses against hand-computed values, and the gradient penalties against closed forms."""

import math

import numpy as np
import pytest
import tensorflow as tf

from cgan import losses
from cgan.errors import CganError
from cgan.terms import Step


def _step(real_logits=None, fake_logits=None, fakes_paired=False):
    """A Step holding only logits, as an adversarial loss reads it."""
    return Step(None, None, None, None, None, real_logits, fake_logits, fakes_paired=fakes_paired)


def test_bce_on_zero_logits_is_two_log_two():
    zeros = tf.zeros([4, 1])
    np.testing.assert_allclose(
        losses.bce_discriminator(zeros, zeros), [2 * math.log(2)] * 4, rtol=1e-6
    )
    np.testing.assert_allclose(losses.bce_generator(zeros), [math.log(2)] * 4, rtol=1e-6)
    # As the trainer calls every registered loss: with the step's value.
    bce = losses.get_loss("bce")
    np.testing.assert_allclose(bce.generator(_step(None, zeros)), [math.log(2)] * 4, rtol=1e-6)
    np.testing.assert_allclose(bce.discriminator(_step(zeros, zeros)), [2 * math.log(2)] * 4)


def test_hinge_and_wasserstein_by_hand():
    real, fake = tf.constant([[2.0], [0.5]]), tf.constant([[-3.0], [0.25]])
    # hinge: relu(1 - r) + relu(1 + f)
    np.testing.assert_allclose(losses.hinge_discriminator(real, fake), [0.0, 0.5 + 1.25])
    np.testing.assert_allclose(losses.wasserstein_discriminator(real, fake), [-5.0, -0.25])
    np.testing.assert_allclose(losses.wasserstein_generator(fake), [3.0, -0.25])


def test_the_relativistic_pairing_loss_by_hand():
    real, fake = tf.constant([[2.0], [0.5]]), tf.constant([[-3.0], [0.25]])
    softplus = lambda x: math.log1p(math.exp(x))  # noqa: E731
    pairing = losses.get_loss("relativistic")
    # discriminator: softplus(f - r) row by row; generator: softplus(r - f)
    np.testing.assert_allclose(
        pairing.discriminator(_step(real, fake)), [softplus(-5.0), softplus(-0.25)], rtol=1e-6
    )
    np.testing.assert_allclose(
        pairing.generator(_step(real, fake)), [softplus(5.0), softplus(0.25)], rtol=1e-6
    )
    # Fakes drawn in pairs (mode-seeking): still row by row, each real once (the pipeline sets
    # the reals in pairs of one label, label_pair_order).
    np.testing.assert_allclose(
        pairing.generator(_step(real, fake, fakes_paired=True)),
        [softplus(5.0), softplus(0.25)],
        rtol=1e-6,
    )
    assert pairing.pairs and not pairing.has_accuracy  # only differences of logits mean anything
    assert not losses.get_loss("hinge").pairs


def test_top_k_keeps_the_fakes_scored_highest_and_means_over_them():
    per_example = tf.constant([1.0, 2.0, 3.0, 4.0])
    logits = tf.constant([[0.5], [-1.0], [2.0], [0.0]])
    # At the start every fake counts; at the end half of them, the two scored highest, times 4/2.
    np.testing.assert_allclose(losses.top_k(per_example, logits, 0.0, 0.5), [1, 2, 3, 4])
    np.testing.assert_allclose(losses.top_k(per_example, logits, 1.0, 0.5), [2, 0, 6, 0])
    # Half-way the share is 0.75: three of four, times 4/3; the lowest score (row 1) is dropped.
    np.testing.assert_allclose(
        losses.top_k(per_example, logits, 0.5, 0.5), [4 / 3, 0, 4, 16 / 3], rtol=1e-6
    )
    # One fake at least, however small the share.
    np.testing.assert_allclose(losses.top_k(per_example, logits, 1.0, 0.01), [0, 0, 12, 0])


def test_squared_gradient_norm_sums_over_the_pixels_of_each_example():
    gradients = np.zeros((3, 2, 2, 1), np.float32)
    gradients[0] = 1.0  # 4 pixels of 1
    gradients[1, 0, 1, 0] = -3.0
    np.testing.assert_allclose(losses.squared_gradient_norm(gradients), [4.0, 9.0, 0.0])


def test_unknown_loss_lists_the_known_ones():
    with pytest.raises(
        CganError, match="^unknown loss 'l1'; known: bce, hinge, relativistic, wasserstein$"
    ):
        losses.get_loss("l1")


def test_gradient_penalty_of_a_linear_critic_is_constant():
    # D(x) = c * sum(x): the gradient is c everywhere, its norm c * sqrt(16) = 4c.
    critic = lambda x: 0.5 * tf.reduce_sum(x, axis=[1, 2, 3])[:, None]  # noqa: E731
    real, fake = tf.random.normal([8, 4, 4, 1]), tf.random.normal([8, 4, 4, 1])
    penalty = losses.gradient_penalty(critic, real, fake, tf.random.uniform([8]))
    np.testing.assert_allclose(penalty, [(0.5 * 4 - 1) ** 2] * 8, rtol=1e-5)


def test_gradient_penalty_interpolates_with_the_given_weight_of_each_example():
    # D(x) = ||x||^2 / 2 has gradient x_hat. With real = 1/4 (norm 1 over 16 pixels) and
    # fake = 0, x_hat = eps * real, so the penalty is (eps - 1)^2 and reveals eps.
    critic = lambda x: 0.5 * tf.reduce_sum(x * x, axis=[1, 2, 3])[:, None]  # noqa: E731
    weights = np.array([0.0, 0.25, 0.5, 0.9], np.float32)
    real, fake = tf.fill([4, 4, 4, 1], 0.25), tf.zeros([4, 4, 4, 1])
    penalty = losses.gradient_penalty(critic, real, fake, weights).numpy()
    np.testing.assert_allclose(1.0 - np.sqrt(penalty), weights, atol=1e-5)


def test_mode_seeking_is_one_over_the_image_to_noise_distance_ratio_of_each_pair():
    # Pair 0: images differ by 1 in every pixel, noises by 2 in every entry: 1 / (1/2) = 2
    # for both rows.
    # Pair 1: the same image from two noises: the ratio is 0 and the term is 1 / 1e-5.
    fake = np.stack(
        [np.zeros((2, 2, 1)), np.ones((2, 2, 1)), np.full((2, 2, 1), 0.3), np.full((2, 2, 1), 0.3)]
    )
    noise = np.array([[0.0, 0.0], [2.0, -2.0], [1.0, 0.0], [0.0, 1.0]])
    term = losses.mode_seeking(
        tf.constant(fake, tf.float32), tf.constant(noise, tf.float32)
    ).numpy()
    np.testing.assert_allclose(term, [1 / (0.5 + 1e-5)] * 2 + [1e5] * 2, rtol=1e-5)


def test_paired_rows_give_each_odd_row_its_even_neighbours_value():
    np.testing.assert_array_equal(
        losses.paired_rows(tf.constant([3, 7, 1, 2, 9, 9])), [3, 3, 1, 1, 9, 9]
    )


def test_label_pair_order_sets_rows_in_pairs_of_one_label_and_the_odd_ones_out_last():
    # counts: 3 of label 3, 2 of label 1, 1 of label 2. Rows 1, 4 (label 1), then 0, 2 (two of the
    # three 3s), then the odd ones out: row 3 (the only 2) and row 5 (the last 3).
    labels = tf.constant([3, 1, 3, 2, 1, 3])
    order = losses.label_pair_order(labels).numpy()
    np.testing.assert_array_equal(order, [1, 4, 0, 2, 3, 5])
    arranged = tf.gather(labels, order)
    fake_labels = losses.paired_rows(arranged).numpy()
    np.testing.assert_array_equal(arranged, [1, 1, 3, 3, 2, 3])
    np.testing.assert_array_equal(fake_labels, [1, 1, 3, 3, 2, 2])
    # every real once; fake i has real i's label but for row 5: two odd counts leave one row
    # that no pairs of one label can match
    assert sorted(order) == list(range(6))
    assert list(np.flatnonzero(fake_labels != arranged.numpy())) == [5]
    # counts all even: every fake has its real's label
    labels = tf.constant([7, 0, 0, 7, 7, 7])
    arranged = tf.gather(labels, losses.label_pair_order(labels)).numpy()
    np.testing.assert_array_equal(arranged, [0, 0, 7, 7, 7, 7])
    np.testing.assert_array_equal(losses.paired_rows(arranged), arranged)
