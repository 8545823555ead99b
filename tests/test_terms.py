"""The one registry mechanism and the terms on it: re-registration, clashes, unknown names, terms
through the registry by hand, a custom term changing the loss by exactly its weighted value, the
first step's check of what a term returns, and the screening plugins of experiments/."""

import dataclasses
import importlib.util
import os

import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO

import cgan
from cgan import losses, metric_registry, registry, schedules, terms
from cgan.architectures import blocks
from cgan.config import Config
from cgan.errors import CganError
from cgan.trainer import GANTrainer

BATCH = 4


@pytest.fixture
def scratch(monkeypatch):
    """Registrations made by a test are forgotten after it (the registries are process-wide)."""
    for kind in (
        terms.TERMS,
        losses.LOSSES,
        schedules.LEARNING_RATE_DECAYS,
        metric_registry.METRICS,
    ):
        monkeypatch.setattr(kind, "_entries", dict(kind._entries))
    monkeypatch.setattr(registry.EXPERIMENTS, "_entries", dict(registry.EXPERIMENTS._entries))


def _version(value):
    """A new function object each call, of the same module and qualified name: a re-run cell."""

    def thing():
        return value

    return thing


def _other():
    return "other"


def test_the_same_function_registered_again_replaces_and_another_is_refused():
    kinds = registry.Registry("widget")
    kinds.register("a", "first", _version(1))
    kinds.register("a", "second", _version(2))  # same module and qualname: replaced
    assert kinds.get("a") == "second" and kinds.names() == ["a"]
    with pytest.raises(
        CganError,
        match=r"^widget 'a' is already registered \(by (tests\.)?test_terms._version"
        r".<locals>.thing\); choose another name$",
    ):
        kinds.register("a", "third", _other)
    assert kinds.get("a") == "second"
    kinds.register("b", "b", _other)
    with pytest.raises(CganError, match="^unknown widget 'c'; known: a, b$"):
        kinds.get("c")
    assert "b" in kinds and list(kinds) == ["a", "b"] and kinds.values() == ["second", "b"]


def test_built_in_terms_by_hand_through_the_registry():
    gradients = np.zeros((3, 2, 2, 1), np.float32)
    gradients[0] = 1.0  # 4 pixels of 1: ||g||^2 = 4
    gradients[1, 0, 1, 0] = -3.0  # 9
    step = terms.Step(None, None, None, None, None, None, None, real_gradients=gradients)
    np.testing.assert_allclose(terms.TERMS.get("r1").function(step), [2.0, 4.5, 0.0])
    step = dataclasses.replace(step, real_gradients=None, fake_gradients=gradients)
    np.testing.assert_allclose(terms.TERMS.get("r2").function(step), [2.0, 4.5, 0.0])
    # WGAN-GP with D(x) = 0.5 sum(x) over 16 pixels: ||grad|| = 2 everywhere, (2 - 1)^2 = 1.
    real, fake = tf.random.normal([2, 4, 4, 1]), tf.random.normal([2, 4, 4, 1])
    step = terms.Step(
        real,
        fake,
        tf.zeros([2], tf.int32),
        None,
        None,
        None,
        None,
        discriminate=lambda x, labels: (0.5 * tf.reduce_sum(x, axis=[1, 2, 3])[:, None], None),
        draws={"gradient_penalty": tf.constant([[0.3], [0.8]])},
    )
    np.testing.assert_allclose(terms.TERMS.get("gradient_penalty").function(step), [1.0, 1.0])
    order = [term.name for term in terms.TERMS.values()]  # the order each side sums them in
    assert order[:6] == ["r1", "r2", "gradient_penalty", "class_real", "class_fake", "mode_seeking"]


def test_only_terms_with_a_weight_are_active_and_their_weights_come_from_the_recipe():
    recipe = registry.Recipe(conditional=True, r2=0.5, class_weight=0.3, mode_seeking=0.0)
    assert [(t.name, w) for t, w in terms.active(recipe, "discriminator")] == [
        ("r2", 0.5),
        ("class_real", 0.3),
    ]
    assert [(t.name, w) for t, w in terms.active(recipe, "generator")] == [("class_fake", 0.3)]
    assert terms.draws_per_step(dataclasses.replace(recipe, gradient_penalty=10.0)) == 1


def _linear_pair(side=2):
    """A generator of (side, side, 1) images and a discriminator D(x) = 0.5 sum(x)."""
    z, labels = blocks.generator_inputs(3)
    image = tf.keras.layers.Reshape((side, side, 1))(tf.keras.layers.Dense(side * side)(z))
    generator = tf.keras.Model([z, labels], image)
    images, image_labels = blocks.discriminator_inputs((side, side, 1))
    dense = tf.keras.layers.Dense(1, kernel_initializer=tf.keras.initializers.Constant(0.5))
    discriminator = tf.keras.Model([images, image_labels], dense(tf.keras.layers.Flatten()(images)))
    return generator, discriminator


def _trainer(**recipe):
    recipe = registry.Recipe(conditional=False, loss="wasserstein", **recipe)
    return GANTrainer(*_linear_pair(), recipe, BATCH, tf.distribute.get_strategy())


def test_a_custom_term_changes_each_side_by_exactly_its_weighted_mean(scratch):
    @cgan.register_term("test_fake_energy", "generator")
    def fake_energy(step):
        return tf.reduce_sum(tf.square(step.fake), axis=[1, 2, 3])

    @cgan.register_term("test_real_logit_square", "discriminator")
    def real_logit_square(step):
        return tf.square(step.real_logits[:, 0])

    real = tf.random.stateless_uniform([BATCH, 2, 2, 1], seed=[0, 2])
    fake = tf.random.stateless_uniform([BATCH, 2, 2, 1], seed=[0, 3])
    labels, noise = tf.zeros([BATCH], tf.int32), tf.zeros([BATCH, 3])
    plain, weighted = _trainer(), _trainer(terms="test_fake_energy=0.25,test_real_logit_square=2")
    assert [t.name for t, _ in plain.terms["generator"]] == []  # off: not computed at all

    def g_loss(trainer):
        outputs = (trainer.discriminator([fake, labels]), None)
        return float(trainer.generator_loss(fake, noise, outputs, labels))

    energy = tf.reduce_mean(tf.reduce_sum(fake**2, axis=[1, 2, 3]))
    np.testing.assert_allclose(g_loss(weighted) - g_loss(plain), 0.25 * energy, rtol=1e-5)

    def d_loss(trainer):
        return float(trainer.discriminator_loss(real, fake, labels, labels)[0])

    square = tf.reduce_mean((0.5 * tf.reduce_sum(real, axis=[1, 2, 3])) ** 2)
    np.testing.assert_allclose(d_loss(weighted) - d_loss(plain), 2 * square, rtol=1e-5)


def test_terms_weights_are_a_config_option_checked_by_name(scratch):
    cgan.register_term("test_extra", "generator")(lambda step: step.fake_logits[:, 0])
    config = Config(arch="dense", terms="test_extra=0.5, none")
    assert config.recipe.terms == "test_extra=0.5"
    assert terms.active(config.recipe, "generator")[0][0].name == "test_extra"
    for text, message in (
        ("r1=1", "^--terms: r1 has a flag of its own: give --r1$"),
        ("nope=1", "^unknown term 'nope'; known: class_fake, class_real, gradient_penalty, "),
        ("test_extra", r"^--terms: test_extra needs a weight, NAME=WEIGHT; got 'test_extra'$"),
        ("test_extra=-1", "^--terms: the weight of test_extra must be >= 0, got -1$"),
    ):
        with pytest.raises(CganError, match=message):
            Config(arch="dense", terms=text)
    with pytest.raises(CganError, match="^term 'x': side must be one of discriminator, gen"):
        cgan.register_term("x", "critic")


class _Batches:
    def __init__(self, trainer, images, labels):
        self.inputs = trainer.step_inputs(tf.constant(0, tf.int64), images, labels)

    def __next__(self):
        return self.inputs


@pytest.mark.parametrize(
    "value, message",
    [
        (lambda step: step.fake_logits, r"^term 'test_bad' must return one value per example, "),
        (lambda step: tf.reduce_mean(step.fake_logits), r"shape \(4,\), got \(\)$"),
        (lambda step: step.fake_logits[:, 0] / 0.0, "^term 'test_bad' gave a NaN or infinite"),
    ],
    ids=["B x 1", "scalar", "infinite"],
)
def test_a_term_of_the_wrong_shape_or_not_finite_is_named_on_the_first_step(
    scratch, value, message
):
    cgan.register_term("test_bad", "generator")(value)
    trainer = _trainer(terms="test_bad=1")
    images = tf.random.stateless_uniform([BATCH, 2, 2, 1], seed=[1, 2])
    batches = _Batches(trainer, images, tf.zeros([BATCH], tf.int32))
    with pytest.raises(CganError, match=message):
        trainer.train_step(batches)  # compiled, as in training


def test_a_good_first_step_is_quiet_and_later_steps_are_not_checked(scratch):
    trainer = _trainer(r1=1.0, gradient_penalty=1.0)
    images = tf.random.stateless_uniform([BATCH, 2, 2, 1], seed=[1, 2])
    metrics = trainer.train_step(_Batches(trainer, images, tf.zeros([BATCH], tf.int32)))
    # the check's flags are not reported; each active term's mean is, by its name
    assert set(metrics) == {"d_loss", "g_loss", "r1", "gradient_penalty"}


def test_every_kind_registers_through_a_public_function(scratch):
    for name in (
        "register_architecture",
        "register_augmentation",
        "register_experiment",
        "register_loss",
        "register_metric",
        "register_schedule",
        "register_term",
        "Step",
    ):
        assert name in cgan.__all__ and hasattr(cgan, name)
    cgan.register_schedule("test_half")(lambda progress: 0.5)
    assert Config(learning_rate_decay="test_half").recipe.learning_rate_decay == "test_half"
    cgan.register_loss(
        "test_least_squares",
        lambda step: (step.real_logits[:, 0] - 1) ** 2 + step.fake_logits[:, 0] ** 2,
        lambda step: (step.fake_logits[:, 0] - 1) ** 2,
    )
    assert Config(loss="test_least_squares").recipe.loss == "test_least_squares"

    @cgan.register_metric("test_mean_pixel", higher_is_better=False)
    def mean_pixel(images, labels, judge):
        return float(np.mean(images))

    metric = metric_registry.METRICS.get("test_mean_pixel")
    assert metric.function(np.ones((2, 2)), None, None) == 1.0 and not metric.higher_is_better

    @cgan.register_experiment
    def test_tiny():
        return Config(mode="compare", budget_images=64)

    assert registry.EXPERIMENTS.get("test_tiny") is test_tiny


def _experiment(name):
    """experiments/<name>.py run as a module kept out of sys.modules (scratch forgets what it
    registers)."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, "experiments", name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_per_label_top_k_plugin_keeps_each_labels_best_fakes_and_means_over_them(scratch):
    plugin = _experiment("topk_label.py")
    per_example = tf.constant([1.0, 2, 3, 4, 5, 6])
    scores = tf.constant([[0.0], [1], [5], [2], [3], [3]])
    labels = tf.constant([0, 0, 1, 1, 2, 2])
    keep = plugin.per_label_top_k(per_example, scores, labels, 0.0)
    np.testing.assert_allclose(keep, [1, 2, 3, 4, 5, 6])  # all kept at the start
    # at the end half of each label: rows 1 and 2, and both of label 2's tie; 6 rows / 4 kept
    keep = plugin.per_label_top_k(per_example, scores, labels, 1.0)
    np.testing.assert_allclose(keep, [0, 3, 4.5, 0, 7.5, 9])
    loss = losses.get_loss("hinge_topk_label")
    step = terms.Step(
        real=None, fake=None, labels=None, fake_labels=labels, noise=None,
        real_logits=tf.constant([[2.0], [0.5], [-1], [0], [1], [3]]), fake_logits=scores,
        progress=tf.constant(0.0),
    )  # fmt: skip
    hinge = losses.get_loss("hinge")
    np.testing.assert_allclose(loss.discriminator(step), hinge.discriminator(step))
    np.testing.assert_allclose(loss.generator(step), hinge.generator(step))  # nothing dropped yet


def test_the_centring_plugin_moves_each_image_to_the_centre_of_its_field(scratch, monkeypatch):
    monkeypatch.setattr(registry.ARCHITECTURES, "_entries", dict(registry.ARCHITECTURES._entries))
    plugin = _experiment("centred_cgan.py")
    images = -np.ones((2, 28, 28, 1), np.float32)
    images[0, 2:5, 4:7] = 1.0  # ink centred at row 3, column 5: moved by 11 and 9 (14 - centre)
    images[1, 13:16, 13:16] = 0.5  # centred at (14, 14) already: not moved
    moved = plugin.CentreOfMass()(tf.constant(images)).numpy()
    assert np.array_equal(np.argwhere(moved[0, :, :, 0] > 0), np.argwhere(images[1, :, :, 0] > 0))
    assert set(np.unique(moved[0])) == {-1.0, 1.0}  # the background shifted in
    np.testing.assert_array_equal(moved[1], images[1])
    recipe = registry.get("cgan_centred").recipe
    assert recipe == registry.get("cgan").recipe  # cgan's recipe, only the generator's end differs
    generator, _ = registry.get("cgan_centred").build((28, 28, 1), 8, 10, d_width=16)
    drawn = generator([tf.random.normal([4, 8]), tf.constant([0, 1, 2, 3])]).numpy()
    assert drawn.shape == (4, 28, 28, 1) and drawn.min() >= -1 and drawn.max() <= 1


USER_CODE = """
import keras
import tensorflow as tf

import cgan


@cgan.register_term("wide", "generator")
def wide(step):
    return tf.zeros_like(step.fake_logits)  # (B, 1): one value per example is (B,)


@cgan.register_term("not_finite", "discriminator")
def not_finite(step):
    return tf.math.log(tf.zeros_like(step.real_logits[:, 0]))  # -inf


@cgan.register_architecture("upside_down", conditional=True)
def build(image_shape, latent_dim, num_classes):
    z, labels = keras.Input((latent_dim,)), keras.Input((), dtype="int32")
    images = keras.layers.Reshape(image_shape)(keras.layers.Dense(784)(z))  # no tanh: unbounded
    seen = keras.Input(image_shape)
    logits = keras.layers.Dense(1)(keras.layers.Flatten()(seen))
    return keras.Model([z, labels], images), keras.Model([seen, labels], logits)
"""


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["--terms=wide=1"], "term 'wide' must return one value per example, shape (32,), got"),
        (["--terms=not_finite=1"], "term 'not_finite' gave a NaN or infinite value on the first"),
        (["--arch=upside_down"], "architecture 'upside_down' breaks the contract: G gave values"),
    ],
)
def test_user_code_that_breaks_its_contract_is_named_in_one_line_and_nothing_is_written(
    scratch, monkeypatch, tmp_path, capfd, synthetic_digits, arguments, expected
):
    from conftest import assert_refused, run_in_process, snapshot

    monkeypatch.setattr(registry.ARCHITECTURES, "_entries", dict(registry.ARCHITECTURES._entries))
    plugin = tmp_path / f"broken_{len(arguments[0])}.py"
    plugin.write_text(USER_CODE)
    before = snapshot(tmp_path)
    result = run_in_process(
        capfd, f"--import={plugin}", "--arch=cgan_fast", *arguments, "--steps=2",
        "--batch_size=32", f"--dataset={synthetic_digits}", f"--output_dir={tmp_path / 'run'}",
    )  # fmt: skip
    assert_refused(result, tmp_path, before, expected)
