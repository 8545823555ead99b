"""Every registered architecture keeps the contract and trains one step with the shared trainer."""

import numpy as np
import pytest
import tensorflow as tf

from cgan import data, registry
from cgan.trainer import GANTrainer

LATENT = 16
BATCH = 8


def _build(name):
    return registry.get(name).build(data.IMAGE_SHAPE, LATENT, data.NUM_CLASSES)


def _inputs(batch=BATCH, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((batch, LATENT)).astype(np.float32)
    labels = rng.integers(0, 10, batch).astype(np.int32)
    return z, labels


@pytest.mark.parametrize("name", registry.names())
def test_generator_and_discriminator_keep_the_contract(name):
    generator, discriminator = _build(name)
    z, labels = _inputs()
    images = generator([z, labels], training=False).numpy()
    assert images.shape == (BATCH, 28, 28, 1)
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert images.std() > 0  # not a constant picture
    logits = discriminator([images, labels], training=False).numpy()
    assert logits.shape == (BATCH, 1) and np.isfinite(logits).all()


@pytest.mark.parametrize("name", registry.names())
def test_labels_matter_exactly_when_the_architecture_is_conditional(name):
    generator, discriminator = _build(name)
    z, labels = _inputs()
    other = (labels + 1) % 10
    changed = not np.allclose(generator([z, labels]).numpy(), generator([z, other]).numpy())
    assert changed == registry.get(name).recipe.conditional
    images = generator([z, labels]).numpy()
    d_changed = not np.allclose(discriminator([images, labels]).numpy(), discriminator([images, other]).numpy())
    assert d_changed == registry.get(name).recipe.conditional


class _Batches:
    """An iterator that always yields the same synthetic batch."""

    def __init__(self, images, labels):
        self.batch = (tf.constant(images), tf.constant(labels))

    def __next__(self):
        return self.batch


@pytest.mark.parametrize("name", registry.names())
def test_one_train_step_changes_both_networks_and_gives_finite_losses(name):
    tf.keras.utils.set_random_seed(1)
    generator, discriminator = _build(name)
    recipe = registry.get(name).recipe
    trainer = GANTrainer(generator, discriminator, recipe, BATCH, tf.distribute.get_strategy())
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (BATCH * recipe.critic_steps, 28, 28, 1)).astype(np.float32)
    labels = rng.integers(0, 10, BATCH * recipe.critic_steps).astype(np.int32)
    g_before = [w.numpy().copy() for w in generator.trainable_weights]
    d_before = [w.numpy().copy() for w in discriminator.trainable_weights]

    metrics = {k: float(v) for k, v in trainer.train_step(_Batches(images, labels)).items()}

    assert all(np.isfinite(v) for v in metrics.values()), metrics
    assert {"d_loss", "g_loss"} <= set(metrics)
    assert ("d_accuracy" in metrics) == (recipe.loss != "wasserstein")
    assert int(trainer.step) == 1
    assert any(not np.allclose(a, w.numpy()) for a, w in zip(g_before, generator.trainable_weights))
    assert any(not np.allclose(a, w.numpy()) for a, w in zip(d_before, discriminator.trainable_weights))
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
    trainer._update_ema()
    np.testing.assert_allclose(average.numpy(), start + (1 - recipe.ema) * 1.0, rtol=1e-4, atol=1e-5)
