"""Differentiable augmentation against hand-made cases: where translation moves a pixel, what
cutout blanks, the gradient through both, the policy names, and the numbers each step draws."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from cgan import augment, registry, step_inputs
from cgan.errors import CganError


def _image(side=8):
    """One (1, side, side, 1) image of 0.5 with a single 1 at (3, 3)."""
    image = np.full((1, side, side, 1), 0.5, np.float32)
    image[0, 3, 3, 0] = 1.0
    return image


def test_translation_shifts_whole_pixels_and_fills_with_the_background():
    # At 8 pixels the shift is -1, 0 or 1 (an eighth of the side): draws 0.9 and 0.1 give one
    # row down and one column left.
    shifted = augment.translation(tf.constant(_image()), tf.constant([[0.9, 0.1]])).numpy()
    expected = np.full((8, 8), 0.5, np.float32)
    expected[4, 2] = 1.0
    expected[0, :] = -1.0  # the row that came in at the top: MNIST's black, not mid-grey 0
    expected[:, 7] = -1.0  # the column that came in at the right
    np.testing.assert_array_equal(shifted[0, ..., 0], expected)
    # a draw of one half is no shift
    still = augment.translation(tf.constant(_image()), tf.constant([[0.5, 0.5]]))
    np.testing.assert_array_equal(still, _image())


def test_cutout_blanks_a_square_of_half_the_side_that_may_hang_over_an_edge():
    # centre row 4 (0.5 x 8) and column 0: rows 2 to 5, columns -2 to 1 of which 0 and 1 remain
    cut = augment.cutout(tf.constant(_image()), tf.constant([[0.5, 0.0]])).numpy()[0, ..., 0]
    expected = _image()[0, ..., 0].copy()
    expected[2:6, 0:2] = -1.0
    np.testing.assert_array_equal(cut, expected)


def test_an_all_background_image_stays_all_background_whatever_moves_or_is_cut():
    black = tf.fill([3, 8, 8, 1], -1.0)
    draws = tf.constant([[0.0, 0.99, 0.3, 0.7], [0.99, 0.0, 0.0, 0.0], [0.5, 0.5, 0.99, 0.99]])
    for names in (("translation",), ("cutout",), ("translation", "cutout")):
        out = augment.apply(black, draws[:, : 2 * len(names)] if len(names) == 1 else draws, names)
        np.testing.assert_array_equal(out, np.full((3, 8, 8, 1), -1.0, np.float32))
    # a 16-pixel side shifts by up to 2 (an eighth): draws 0.0 and 0.99 give two rows up and two
    # columns right, so rows 14-15 and columns 0-1 came in, -1; the rest is the image moved
    image = np.arange(256, dtype=np.float32).reshape(1, 16, 16, 1) / 256
    moved = augment.translation(tf.constant(image), tf.constant([[0.0, 0.99]])).numpy()[0, ..., 0]
    expected = np.full((16, 16), -1.0, np.float32)
    expected[:14, 2:] = image[0, 2:, :14, 0]
    np.testing.assert_array_equal(moved, expected)


def test_gradients_pass_through_where_a_pixel_stays_in_view():
    images = tf.constant(np.random.default_rng(0).uniform(-1, 1, (2, 8, 8, 1)), tf.float32)
    draws = tf.constant([[0.9, 0.1, 0.5, 0.0], [0.5, 0.5, 0.99, 0.99]])
    with tf.GradientTape() as tape:
        tape.watch(images)
        total = tf.reduce_sum(augment.apply(images, draws, ("translation", "cutout")))
    gradient = tape.gradient(total, images).numpy()[..., 0]
    # Image 0: moved one row down and one column left, so its last row and first column leave
    # the view; then rows 2-5 and columns 0-1 of the moved image (rows 1-4, columns 1-2 of the
    # original) are cut.
    kept = np.ones((8, 8))
    kept[7, :], kept[:, 0] = 0, 0
    kept[1:5, 1:3] = 0
    np.testing.assert_array_equal(gradient[0], kept)
    # Image 1: not moved; the square centred at (7, 7) covers rows and columns 5-7.
    kept = np.ones((8, 8))
    kept[5:, 5:] = 0
    np.testing.assert_array_equal(gradient[1], kept)


def test_a_policy_is_checked_by_name():
    assert augment.parse("translation, cutout") == ("translation", "cutout")
    assert augment.parse("") == ()
    with pytest.raises(
        CganError, match="--augment: unknown augmentation .flip.; known: cutout, translation"
    ):
        augment.parse("translation,flip")


@pytest.mark.parametrize("critic_steps", [1, 3])
def test_each_step_draws_augmentation_numbers_per_pass_for_reals_and_fakes(critic_steps):
    recipe = dataclasses.replace(
        registry.get("cgan").recipe, augment="translation,cutout", critic_steps=critic_steps
    )
    images = tf.zeros([4 * critic_steps, 8, 8, 1])
    labels = tf.zeros([4 * critic_steps], tf.int32)

    def arrange(step, recipe=recipe):
        return step_inputs.arrange(
            tf.constant(step, tf.int64), images, labels, recipe, 4, seed=0, latent_dim=3
        )

    draws = arrange(7)["augment"].numpy()
    passes = 1 if critic_steps == 1 else critic_steps + 1
    assert draws.shape == (4, passes, 2, 4)  # 2 numbers for each of 2 transforms
    # Uniform in [0, 1), from a key of their own: the third split of (seed, step), beside the
    # noise's and the penalty weights'.
    keys = tf.random.experimental.stateless_split(
        tf.constant([0, 7], tf.int64), num=3, alg="philox"
    )
    np.testing.assert_array_equal(
        draws, tf.random.stateless_uniform(draws.shape, seed=keys[2], alg="philox")
    )
    assert len(np.unique(draws)) == draws.size  # no pass, image or transform repeats another
    np.testing.assert_array_equal(arrange(7)["augment"], draws)  # (seed, step) decides
    assert not np.array_equal(arrange(8)["augment"], draws)
    # Without augmentation a step draws nothing for it, and its noise is what it always was.
    plain = arrange(7, dataclasses.replace(recipe, augment=""))
    assert "augment" not in plain
    expected_key = tf.random.experimental.stateless_split(
        tf.constant([0, 7], tf.int64), num=2, alg="philox"
    )[0]
    np.testing.assert_array_equal(
        plain["noise"],
        tf.random.stateless_normal([4, passes, 3], seed=expected_key, alg="philox"),
    )
