"""Every registered architecture keeps the contract and trains one step with the shared trainer,
for MNIST's shape and for larger and colour images."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from cgan import losses, registry, terms
from cgan.architectures import blocks
from cgan.config import Config
from cgan.errors import CganError
from cgan.trainer import GANTrainer

LATENT = 16
BATCH = 8
MNIST = (28, 28, 1)
SHAPES = [MNIST, (32, 32, 3), (64, 64, 1)]  # MNIST, CIFAR-10, MNIST at --image_size=64
CLASSES = 10


def _build(name, shape=MNIST):
    return registry.get(name).build(shape, LATENT, CLASSES)


def _sizes(model, attribute):
    """The `filters` or `units` of a model's layers that have them, in order."""
    return [getattr(layer, attribute) for layer in model.layers if hasattr(layer, attribute)]


def _inputs(batch=BATCH, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((batch, LATENT)).astype(np.float32)
    labels = rng.integers(0, CLASSES, batch).astype(np.int32)
    return z, labels


def test_generators_double_their_seed_map_until_it_is_at_most_8_pixels():
    assert [blocks.upsamplings((side, side, 1)) for side in (16, 28, 32, 48, 64, 128)] == [
        2,
        2,
        2,
        3,
        3,
        4,
    ]
    assert blocks.upsamplings((28, 64, 1)) == 2  # 28 is 4 x 7: two doublings is all it allows
    assert blocks.stage_widths(MNIST) == (128, 64)
    assert blocks.stage_widths((64, 64, 3)) == (256, 128, 64)


def test_cgan_fast_is_cgan_with_the_same_recipe_at_three_quarters_of_its_widths():
    assert registry.get("cgan_fast").recipe == registry.get("cgan").recipe
    (fast_g, fast_d), (g, d) = _build("cgan_fast"), _build("cgan")
    assert _sizes(g, "filters") == [64, 64, 1] and _sizes(fast_g, "filters") == [48, 48, 1]
    assert _sizes(g, "units") == [7 * 7 * 128] and _sizes(fast_g, "units") == [
        7 * 7 * 96
    ]  # the seed map
    assert _sizes(d, "filters") == [32, 64, 64] and _sizes(fast_d, "filters") == [24, 48, 48]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: "x".join(map(str, shape)))
@pytest.mark.parametrize("name", registry.names())
def test_generator_and_discriminator_keep_the_contract(name, shape):
    generator, discriminator = _build(name, shape)
    z, labels = _inputs()
    images = generator([z, labels], training=False).numpy()
    assert images.shape == (BATCH, *shape) and images.dtype == np.float32
    assert images.std() > 0  # not a constant picture
    outputs = discriminator([images, labels], training=False)
    has_class_head = registry.get(name).recipe.class_weight > 0
    # [logits, class logits] exactly when weighted
    assert isinstance(outputs, list) == has_class_head
    logits = (outputs[0] if has_class_head else outputs).numpy()
    assert logits.shape == (BATCH, 1) and np.isfinite(logits).all()
    if has_class_head:
        class_logits = outputs[1].numpy()
        assert class_logits.shape == (BATCH, CLASSES) and np.isfinite(class_logits).all()
        # logits, not probabilities: one softmax only
        assert not np.allclose(class_logits.sum(axis=1), 1.0)
    # Images are in [-1, 1] however large the last layer's pre-activations: a thousandfold kernel
    # pushes the output to -1 and 1 (tanh) and no further; an unbounded or a [0, 1] one leaves them.
    last = [layer for layer in generator.layers if hasattr(layer, "kernel")][-1]
    last.kernel.assign(last.kernel * 1000.0)
    saturated = generator([z, labels], training=False).numpy()
    assert -1.0 <= saturated.min() < -0.99 and 0.99 < saturated.max() <= 1.0


@pytest.mark.parametrize("name", registry.names())
def test_labels_matter_exactly_when_the_architecture_is_conditional(name):
    generator, discriminator = _build(name)
    z, labels = _inputs()
    other = (labels + 1) % CLASSES
    changed = not np.allclose(generator([z, labels]).numpy(), generator([z, other]).numpy())
    assert changed == registry.get(name).recipe.conditional
    images = generator([z, labels]).numpy()
    d_changed = not np.allclose(
        _logits(discriminator, images, labels), _logits(discriminator, images, other)
    )
    recipe = registry.get(name).recipe
    # Every conditional discriminator projects the label onto its features (Miyato & Koyama 2018)
    # but AC-GAN's, which does not see the label: its class head predicts it from the image.
    assert d_changed == (recipe.conditional and name != "acgan")
    if recipe.class_weight > 0:  # a class head (acgan, cgan, cgan_fast): logits of the image alone
        class_logits = discriminator([images, labels])[1].numpy()
        np.testing.assert_array_equal(discriminator([images, other])[1].numpy(), class_logits)
        assert class_logits.shape == (BATCH, CLASSES)
        assert not np.allclose(class_logits, class_logits[:1])  # each image its own


def _logits(discriminator, images, labels):
    outputs = discriminator([images, labels])
    return (outputs[0] if isinstance(outputs, list) else outputs).numpy()


class _Batches:
    """An iterator that always yields the trainer's inputs for step 0 of one synthetic batch."""

    def __init__(self, trainer, images, labels):
        self.inputs = trainer.step_inputs(
            tf.constant(0, tf.int64), tf.constant(images), tf.constant(labels)
        )

    def __next__(self):
        return self.inputs


# Every technique a recipe can switch on, at once: each path of the trainer is taken.
TECHNIQUES = dict(
    loss="relativistic",
    r1=1.0,
    r2=1.0,
    augment="translation,cutout",
    minibatch_stddev=4,
    top_k=0.5,
    learning_rate_decay="hold",
)


# At MNIST's shape: the contract test above builds every architecture at every shape, and
# tests/test_datasets.py trains at 16 x 16 x 3 and 32 x 32 x 1.
@pytest.mark.parametrize("techniques", [{}, TECHNIQUES], ids=["recipe", "techniques"])
@pytest.mark.parametrize("name", registry.names())
def test_one_train_step_changes_both_networks_and_gives_finite_losses(
    name, techniques, shape=MNIST
):
    tf.keras.utils.set_random_seed(1)
    architecture = registry.get(name)
    recipe = dataclasses.replace(architecture.recipe, **techniques)
    generator, discriminator = architecture.networks(shape, LATENT, CLASSES, recipe)
    spread = [layer for layer in discriminator.layers if isinstance(layer, blocks.MinibatchStddev)]
    assert len(spread) == bool(recipe.minibatch_stddev)
    # At most two critic steps: the path of five is the same, and two trace in half the time.
    recipe = dataclasses.replace(recipe, critic_steps=min(recipe.critic_steps, 2))
    trainer = GANTrainer(generator, discriminator, recipe, BATCH, tf.distribute.get_strategy())
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (BATCH * recipe.critic_steps, *shape)).astype(np.float32)
    labels = rng.integers(0, CLASSES, BATCH * recipe.critic_steps).astype(np.int32)
    g_before = [w.numpy().copy() for w in generator.trainable_weights]
    d_before = [w.numpy().copy() for w in discriminator.trainable_weights]

    # Eagerly: tracing costs seconds per case, and tests/replica_equivalence.py runs every
    # architecture's step compiled (and cgan's with every technique).
    tf.config.run_functions_eagerly(True)
    try:
        metrics = {
            k: float(v) for k, v in trainer.train_step(_Batches(trainer, images, labels)).items()
        }
    finally:
        tf.config.run_functions_eagerly(False)

    assert all(np.isfinite(v) for v in metrics.values()), metrics
    assert {"d_loss", "g_loss"} <= set(metrics)
    assert ("d_accuracy" in metrics) == (recipe.loss in ("bce", "hinge"))
    assert int(trainer.step) == 1
    assert any(not np.allclose(a, w.numpy()) for a, w in zip(g_before, generator.trainable_weights))
    assert any(
        not np.allclose(a, w.numpy()) for a, w in zip(d_before, discriminator.trainable_weights)
    )
    if recipe.ema:  # the average moved towards the new weights but is not equal to them
        ema = trainer.ema_generator.trainable_weights
        assert any(not np.allclose(a, e.numpy()) for a, e in zip(g_before, ema))


def test_ema_generator_is_a_weighted_average():
    generator, discriminator = _build("cgan")
    recipe = registry.get("cgan").recipe
    trainer = GANTrainer(generator, discriminator, recipe, BATCH, tf.distribute.get_strategy())
    average, current = trainer.ema_generator.trainable_weights[0], generator.trainable_weights[0]
    start = average.numpy().copy()
    current.assign(current + 1.0)
    trainer.step.assign(10**6)  # long past the warm-up: the decay is the recipe's
    trainer.update_ema()
    np.testing.assert_allclose(
        average.numpy(), start + (1 - recipe.ema) * 1.0, rtol=1e-4, atol=1e-5
    )


def test_the_learning_rate_decays_over_the_budget_and_halvings_scale_it():
    generator, discriminator = _build("dense")
    recipe = dataclasses.replace(
        registry.get("dense").recipe, learning_rate=1e-3, learning_rate_decay="linear"
    )
    trainer = GANTrainer(generator, discriminator, recipe, BATCH, tf.distribute.get_strategy())
    trainer.set_progress(0.25)
    # a quarter of the way down to zero
    assert trainer.learning_rates() == pytest.approx((7.5e-4, 7.5e-4))
    # the recipe's rate, halved, before decay
    assert trainer.halve_learning_rate() == pytest.approx(5e-4)
    trainer.set_progress(0.5)
    assert trainer.learning_rates() == pytest.approx((2.5e-4, 2.5e-4))
    constant = GANTrainer(
        *_build("dense"), registry.get("dense").recipe, BATCH, tf.distribute.get_strategy()
    )
    constant.set_progress(0.9)
    assert constant.learning_rates() == pytest.approx((2e-4, 2e-4))
    # hold: the full rate for four fifths of the budget, then linear to zero
    hold = dataclasses.replace(recipe, learning_rate_decay="hold")
    held = GANTrainer(*_build("dense"), hold, BATCH, tf.distribute.get_strategy())
    rates = []
    for progress in (0.0, 0.8, 0.9, 1.0):
        held.set_progress(progress)
        rates.append(held.learning_rates()[0])
    assert rates == pytest.approx([1e-3, 1e-3, 5e-4, 0.0])


def test_both_optimizers_take_the_recipes_adam_moments():
    recipe = Config(arch="dense", beta_1=0.9).recipe  # --beta_1 overrides dense's 0.5
    trainer = GANTrainer(*_build("dense"), recipe, BATCH, tf.distribute.get_strategy())
    for optimizer in (trainer.g_optimizer, trainer.d_optimizer):
        assert (optimizer.beta_1, optimizer.beta_2) == (0.9, 0.999)


def test_class_loss_is_one_softmax_cross_entropy_on_logits_on_both_sides():
    # Nine logits 0 and the true class at ln 9: p(true) = 9 / (9 + 9) = 1/2, cross-entropy ln 2.
    logits = np.zeros((2, 10), np.float32)
    logits[0, 3] = logits[1, 7] = np.log(9.0)
    logits, labels = tf.constant(logits), tf.constant([3, 7])
    step = terms.Step(None, None, labels, labels, None, None, None, logits, logits)
    for name, side in (("class_real", "discriminator"), ("class_fake", "generator")):
        term = terms.TERMS.get(name)
        assert (term.side, term.weight, term.class_head) == (side, "class_weight", True)
        np.testing.assert_allclose(term.function(step), [np.log(2.0)] * 2, rtol=1e-5)


def test_a_class_head_needs_a_class_weight_and_the_reverse():
    generator, discriminator = _build("cgan")  # a discriminator with a class head
    recipe = dataclasses.replace(registry.get("cgan").recipe, class_weight=0.0)
    with pytest.raises(ValueError, match="class head"):
        GANTrainer(generator, discriminator, recipe, BATCH, tf.distribute.get_strategy())
    generator, discriminator = _build("cgan_proj")  # none
    recipe = dataclasses.replace(registry.get("cgan_proj").recipe, class_weight=1.0)
    with pytest.raises(ValueError, match="class head"):
        GANTrainer(generator, discriminator, recipe, BATCH, tf.distribute.get_strategy())


def test_mode_seeking_pairs_the_generators_labels_and_adds_its_term_to_the_generator_loss():
    generator, discriminator = _build("cgan")
    recipe = registry.get("cgan").recipe
    on, off = (
        GANTrainer(
            generator,
            discriminator,
            dataclasses.replace(recipe, mode_seeking=weight),
            BATCH,
            tf.distribute.get_strategy(),
        )
        for weight in (0.5, 0.0)
    )
    z, labels = _inputs()
    np.testing.assert_array_equal(on.fake_labels(tf.constant(labels)), np.repeat(labels[::2], 2))
    np.testing.assert_array_equal(off.fake_labels(tf.constant(labels)), labels)
    fake = tf.random.stateless_uniform([BATCH, *MNIST], seed=[0, 1])
    # logits 0: generator hinge 0, cross-entropy ln 10
    outputs = (tf.zeros([BATCH, 1]), tf.zeros([BATCH, CLASSES]))
    term = losses.mode_seeking(fake, tf.constant(z)).numpy()
    difference = on.generator_loss(fake, z, outputs, labels) - off.generator_loss(
        fake, z, outputs, labels
    )
    np.testing.assert_allclose(difference.numpy(), 0.5 * term.mean(), rtol=1e-5)
    np.testing.assert_allclose(
        off.generator_loss(fake, z, outputs, labels).numpy(), 0.3 * np.log(10), rtol=1e-5
    )


def _linear_pair(side=2, slope=0.5):
    """A generator of (side, side, 1) images and a discriminator D(x) = slope * sum(x): its
    gradient is `slope` at every pixel of every input."""
    z, labels = blocks.generator_inputs(LATENT)
    image = tf.keras.layers.Reshape((side, side, 1))(tf.keras.layers.Dense(side * side)(z))
    generator = tf.keras.Model([z, labels], image)
    images, image_labels = blocks.discriminator_inputs((side, side, 1))
    dense = tf.keras.layers.Dense(1, kernel_initializer=tf.keras.initializers.Constant(slope))
    discriminator = tf.keras.Model([images, image_labels], dense(tf.keras.layers.Flatten()(images)))
    return generator, discriminator


def test_r1_and_r2_add_half_gamma_times_the_squared_input_gradient_of_reals_and_fakes():
    generator, discriminator = _linear_pair()
    base = registry.Recipe(conditional=False, loss="wasserstein")
    real = tf.random.stateless_uniform([BATCH, 2, 2, 1], seed=[0, 2])
    fake = tf.random.stateless_uniform([BATCH, 2, 2, 1], seed=[0, 3])
    labels = tf.zeros([BATCH], tf.int32)

    def loss_trainer(recipe):
        return GANTrainer(generator, discriminator, recipe, BATCH, tf.distribute.get_strategy())

    def loss(**penalties):
        trainer = loss_trainer(dataclasses.replace(base, **penalties))
        return float(trainer.discriminator_loss(real, fake, labels, labels, None)[0])

    plain = loss()
    # E[D(fake)] - E[D(real)], the bias starting at 0
    np.testing.assert_allclose(
        plain, 0.5 * (tf.reduce_mean(tf.reduce_sum(fake - real, axis=[1, 2, 3]))), rtol=1e-5
    )
    # |grad|^2 = 4 pixels x 0.5^2 = 1 for every example: gamma / 2 each
    np.testing.assert_allclose(loss(r1=3.0) - plain, 1.5, rtol=1e-5)
    np.testing.assert_allclose(loss(r2=5.0) - plain, 2.5, rtol=1e-5)
    np.testing.assert_allclose(loss(r1=3.0, r2=5.0) - plain, 4.0, rtol=1e-5)
    # The penalty reaches D's weights through the second-order path: gamma/2 sum_j w_j^2 per
    # example has gradient gamma * w_j = 3 * 0.5 for each of the 4 kernel entries.
    trainer = loss_trainer(dataclasses.replace(base, r1=3.0))
    kernel = discriminator.trainable_weights[0]
    with tf.GradientTape() as tape:
        penalised = trainer.discriminator_loss(real, fake, labels, labels, None)[0]
    with tf.GradientTape() as plain_tape:
        unpenalised = loss_trainer(base).discriminator_loss(real, fake, labels, labels, None)[0]
    difference = tape.gradient(penalised, kernel) - plain_tape.gradient(unpenalised, kernel)
    np.testing.assert_allclose(difference.numpy().ravel(), [1.5] * 4, rtol=1e-5)


def test_a_pairing_loss_sets_each_fake_against_the_real_of_its_label():
    generator, discriminator = _linear_pair()
    recipe = registry.Recipe(conditional=True, loss="relativistic", mode_seeking=0.5)
    trainer = GANTrainer(generator, discriminator, recipe, 4, tf.distribute.get_strategy())
    assert trainer.pairs_fakes and terms.pairs_reals(recipe)  # mode-seeking pairs the fakes
    # The step's reals come in pairs of one label (labels 5, 2, 5, 2 arrive as 2, 2, 5, 5), so
    # fakes 0 and 1 are drawn for label 2 and set against reals 1 and 3: each real once.
    images = tf.reshape(tf.range(4, dtype=tf.float32), [4, 1, 1, 1])
    arranged = trainer.step_inputs(tf.constant(0, tf.int64), images, tf.constant([5, 2, 5, 2]))
    np.testing.assert_array_equal(arranged["labels"][:, 0], [2, 2, 5, 5])
    np.testing.assert_array_equal(arranged["images"][:, 0, 0, 0, 0], [1.0, 3.0, 0.0, 2.0])
    np.testing.assert_array_equal(trainer.fake_labels(arranged["labels"][:, 0]), [2, 2, 5, 5])
    real_logits = tf.constant([[1.0], [2.0], [3.0], [4.0]])
    fake_logits = tf.zeros([4, 1])
    paired = terms.Step(None, None, None, None, None, real_logits, fake_logits, fakes_paired=True)
    np.testing.assert_array_equal(paired.paired_real_logits[:, 0], [1.0, 2.0, 3.0, 4.0])
    # in each pair the images and the noise vectors differ by 1 everywhere: the term is
    # 1 / (1 + 1e-5), times its weight
    rows = np.array([0.0, 1.0, 0.0, 1.0], np.float32)
    fake = tf.constant(np.broadcast_to(rows[:, None, None, None], (4, 2, 2, 1)))
    noise = tf.constant(np.repeat(rows[:, None], LATENT, axis=1))
    g_loss = trainer.generator_loss(fake, noise, (fake_logits, None), None, real_logits)
    softplus = lambda x: np.log1p(np.exp(x))  # noqa: E731
    expected = np.mean(softplus(np.array([1.0, 2.0, 3.0, 4.0]))) + 0.5 / (1 + 1e-5)
    np.testing.assert_allclose(float(g_loss), expected, rtol=1e-6)
    # without a pairing loss (the default recipe) the reals keep their order
    hinge = dataclasses.replace(recipe, loss="hinge")
    assert not terms.pairs_reals(hinge) and not terms.pairs_reals(registry.Recipe(True, "bce"))


def test_the_weight_average_decay_by_half_life_in_images_and_by_default_as_before():
    generator, discriminator = _linear_pair()
    strategy = tf.distribute.get_strategy()
    base = registry.Recipe(conditional=True, loss="hinge", ema=0.999)

    def decays(recipe, steps):
        trainer = GANTrainer(generator, discriminator, recipe, 4, strategy)
        assert trainer.ema_generator is not None
        return [float(trainer.ema_decay(tf.constant(t, tf.int64))) for t in steps]

    # ema alone: min(0.999, (1 + t) / (10 + t)), as before
    np.testing.assert_allclose(decays(base, [1, 10, 10_000]), [2 / 11, 11 / 20, 0.999], rtol=1e-6)
    # a half-life of 100 images, 4 images a step: min(100, 0.05 x 4t) = 0.2t images, and the
    # decay 0.5 ** (4 / half-life): t = 0 copies, t = 10: 0.5 ** 2, t = 100: 0.5 ** 0.2, from
    # t = 500 on 0.5 ** 0.04 (whatever `ema` says)
    half_life = dataclasses.replace(base, ema=0.0, ema_half_life=100.0)
    assert half_life.averages and not dataclasses.replace(half_life, ema_half_life=0).averages
    np.testing.assert_allclose(
        decays(half_life, [0, 10, 100, 500, 1000]),
        [0.0, 0.25, 0.5**0.2, 0.5**0.04, 0.5**0.04],
        rtol=1e-6,
    )
    # two critic steps show 8 reals a step: t = 100 has seen 800, half-life 40, 0.5 ** 0.2
    two = dataclasses.replace(half_life, critic_steps=2)
    np.testing.assert_allclose(decays(two, [100, 1000]), [0.5**0.2, 0.5**0.08], rtol=1e-6)


def test_minibatch_stddev_groups_every_other_row_of_blocks_of_twice_the_group():
    # eight rows constant per row; groups of two from blocks of four rows, one parity each:
    # rows {0, 2}, {1, 3}, {4, 6}, {5, 7}, whose values differ by 2, 3, 6 and 11
    values = np.array([0.0, 1.0, 2.0, 4.0, 7.0, 13.0, 1.0, 2.0], np.float32)
    x = np.broadcast_to(values[:, None, None, None], (8, 2, 2, 3)).copy()
    out = blocks.MinibatchStddev(group_size=2)(tf.constant(x)).numpy()
    assert out.shape == (8, 2, 2, 4)
    np.testing.assert_array_equal(out[..., :3], x)
    by_hand = [1.0, 1.5, 1.0, 1.5, 3.0, 5.5, 3.0, 5.5]
    groups = [values[[4 * (r // 4) + r % 2, 4 * (r // 4) + r % 2 + 2]] for r in range(8)]
    np.testing.assert_allclose([np.std(group) for group in groups], by_hand)  # numpy agrees
    for row in range(8):
        np.testing.assert_allclose(out[row, ..., 3], np.full((2, 2), by_hand[row]), rtol=1e-6)
    # flat inputs, groups of three from a block of six: rows {0, 2, 4} and {1, 3, 5}
    flat = blocks.MinibatchStddev(group_size=3)(tf.reshape(tf.constant(x[:6]), [6, 12])).numpy()
    expected = [np.std(values[[0, 2, 4]]), np.std(values[[1, 3, 5]])] * 3
    np.testing.assert_allclose(flat[:, 12], expected, rtol=1e-6)
    # a mode-seeking pair collapsed (rows 0 and 1 equal) falls in two groups, not in one of spread
    # sqrt(1e-8)
    pair = blocks.MinibatchStddev(group_size=2)(tf.constant([[5.0], [5.0], [0.0], [2.0]])).numpy()
    np.testing.assert_allclose(pair[:, 1], [2.5, 1.5, 2.5, 1.5], rtol=1e-6)
    # the halves of a batch split in blocks are grouped as the whole
    halves = [blocks.MinibatchStddev(group_size=2)(tf.constant(x[i : i + 4])) for i in (0, 4)]
    np.testing.assert_allclose(np.concatenate(halves), out, rtol=1e-6)


def test_a_builder_of_three_arguments_still_builds_and_names_the_option_it_lacks():
    def build(image_shape, latent_dim, num_classes):
        return _build("dense")

    three = registry.Architecture("three", build, registry.Recipe(conditional=False))
    generator, discriminator = three.networks(MNIST, LATENT, CLASSES)
    assert discriminator.output_shape == (None, 1)
    with_spread = registry.Recipe(conditional=False, minibatch_stddev=4)
    with pytest.raises(CganError, match="--minibatch_stddev: architecture 'three' does not offer"):
        three.networks(MNIST, LATENT, CLASSES, with_spread)


def _tiny(image_shape, g_out=None, g_activation="tanh", d_units=1):
    """A small dense (G, D) pair whose outputs can break the contract on purpose."""
    import keras

    z, labels = keras.Input((8,)), keras.Input((), dtype="int32")
    side = int(np.prod(g_out or image_shape))
    x = keras.layers.Dense(side, activation=g_activation, kernel_initializer="ones")(z)
    generator = keras.Model([z, labels], keras.layers.Reshape(g_out or image_shape)(x))
    images, d_labels = keras.Input(image_shape), keras.Input((), dtype="int32")
    logits = keras.layers.Dense(d_units)(keras.layers.Flatten()(images))
    return generator, keras.Model([images, d_labels], logits)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda s, z, k: _tiny(s, g_out=(4, 4, 1)), r"G gave \(2, 4, 4, 1\); expected G"),
        (lambda s, z, k: _tiny(s, g_activation="linear"), r"G gave values in \[-\d"),
        (lambda s, z, k: _tiny(s, d_units=3), r"D gave \(2, 3\); expected .* logits \(2, 1\)"),
        (
            lambda s, z, k: _tiny(s)[0],
            r"builder must return \(generator, discriminator\), got Functional",
        ),
        (lambda s, z, k: (_tiny(s)[0], "D"), "its discriminator is a str, not a keras.Model"),
    ],
)
def test_networks_that_break_the_contract_are_refused_in_one_line(monkeypatch, build, message):
    monkeypatch.setattr(registry.ARCHITECTURES, "_entries", dict(registry.ARCHITECTURES._entries))
    registry.register("broken", conditional=True)(build)
    with pytest.raises(CganError, match=message) as refused:
        registry.get("broken").networks((6, 6, 1), 8, 3)
    assert "\n" not in str(refused.value) and str(refused.value).startswith("architecture 'broken'")


def test_a_recipe_field_that_does_not_exist_is_refused_at_registration():
    with pytest.raises(CganError, match=r"'mine': unknown recipe field\(s\) learnin_rate"):
        registry.register("mine", conditional=True, learnin_rate=1e-3)(lambda s, z, k: None)
    with pytest.raises(CganError, match="'mine': no conditional="):
        registry.register("mine")(lambda s, z, k: None)
