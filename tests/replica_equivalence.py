"""Run by test_distribute.py in a process of its own, since two logical CPU devices must be set up
before TensorFlow starts: for each architecture named (conftest.equivalence_cases; by default
every registered one, and cgan with every recipe technique on), one train step under a
MirroredStrategy over the two devices and one on a single device, from the same weights on the
same global batch. Prints one JSON line: {arch: largest absolute difference of any weight after
the step (generator, discriminator, weight average, batch-norm statistics, optimizer slots)}.

    python tests/replica_equivalence.py [arch ...]
"""

import dataclasses
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf  # noqa: E402

(CPU,) = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(CPU, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from cgan import data, distribute, registry, runtime  # noqa: E402
from cgan.config import Config  # noqa: E402
from cgan.trainer import GANTrainer  # noqa: E402

MNIST_SHAPE, MNIST_CLASSES = (28, 28, 1), 10

BATCH = 8  # global: 4 examples per replica
LATENT = 16
CRITIC_STEPS = 2  # at most: the path of 5 critic steps is the same, and 2 traces in half the time
# "<arch>+techniques": the architecture with every technique a recipe can switch on
TECHNIQUES = dict(
    loss="relativistic", r1=1.0, r2=1.0, augment="translation,cutout", minibatch_stddev=2
)


def trainer_under(strategy, name):
    """A trainer for `name` ("<arch>" or "<arch>+techniques") under `strategy`, with weights from
    seed 0."""
    keras.utils.set_random_seed(0)
    arch, _, techniques = name.partition("+")
    architecture = registry.get(arch)
    recipe = dataclasses.replace(architecture.recipe, **(TECHNIQUES if techniques else {}))
    with strategy.scope():
        generator, discriminator = architecture.networks(MNIST_SHAPE, LATENT, MNIST_CLASSES, recipe)
    recipe = dataclasses.replace(recipe, critic_steps=min(recipe.critic_steps, CRITIC_STEPS))
    return GANTrainer(generator, discriminator, recipe, BATCH, strategy, seed=0)


def state(trainer):
    """Every variable the step changes, in a fixed order."""
    models = [trainer.generator, trainer.discriminator] + (
        [trainer.ema_generator] if trainer.ema_generator else []
    )
    optimizers = [trainer.g_optimizer, trainer.d_optimizer]
    return [v for model in models for v in model.variables] + [
        v for o in optimizers for v in o.variables
    ]


def largest_difference(name, images, labels, strategies):
    single, mirrored = (trainer_under(strategy, name) for strategy in strategies)
    for source, target in zip(state(single), state(mirrored)):
        target.assign(source)  # the same weights and random states, whatever the initializers did
    count = BATCH * single.recipe.critic_steps
    differences = []
    for trainer in (single, mirrored):
        dataset = data.training_dataset(
            images[: count * 4], labels[: count * 4], count, seed=0, step_inputs=trainer.step_inputs
        )
        trainer.train_step(iter(trainer.strategy.experimental_distribute_dataset(dataset)))
    for a, b in zip(state(single), state(mirrored)):
        difference = np.abs(np.asarray(a.numpy(), np.float64) - np.asarray(b.numpy(), np.float64))
        differences.append(float(difference.max()) if difference.size else 0.0)
    assert int(single.step.numpy()) == int(mirrored.step.numpy()) == 1
    return max(differences)


def main(names):
    runtime.configure(Config())  # the process-wide settings run.py makes
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (BATCH * CRITIC_STEPS * 4, *MNIST_SHAPE), dtype=np.uint8)
    labels = rng.integers(0, MNIST_CLASSES, len(images)).astype(np.int32)
    # One strategy each for all architectures: strategies made anew would reuse collective keys.
    # --strategy=mirrored: every logical CPU, the two set up above.
    strategies = (tf.distribute.OneDeviceStrategy("/cpu:0"), distribute.make_strategy("mirrored"))
    assert strategies[1].num_replicas_in_sync == 2, strategies[1].extended.worker_devices
    print(
        json.dumps({name: largest_difference(name, images, labels, strategies) for name in names})
    )


if __name__ == "__main__":
    main(sys.argv[1:] or registry.names() + ["cgan+techniques"])
