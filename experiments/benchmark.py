"""Training speed: images per second of every architecture under each speed switch; the framework
against a bare tf.function GradientTape loop of the same models on the TensorFlow DCGAN tutorial's
configuration, side by side in one process; one replica against two on two logical CPU devices.

    python experiments/benchmark.py        # everything: every architecture under every switch
    python experiments/benchmark.py --archs=cgan,dcgan --switches=plain,jit_compile --windows=3

Every figure is the median of --windows timed windows of about --window_seconds each, after a
warm-up (tracing, compiling, the first steps). Images are images seen, critic batches included,
as in history.csv. Measurements that are compared (the framework and the bare loop; each switch
and plain) take turns window by window, so a busy machine slows both alike. The framework's
figure is what run.py's train loop does per call: GANTrainer.train_step on the input pipeline of
cgan.data, the losses fetched as Python floats and checked for NaN; the rest of the loop (history
rows, checkpoints, grids) comes every --log_every or --checkpoint_every steps, not every step.
Everything runs under run.py's process-wide TensorFlow settings (cgan.runtime.configure).
"""

import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

# Two logical CPUs for the two-replica figures: set before TensorFlow starts its devices. One
# replica runs on the first and, like the default strategy, uses every core.
(_CPU,) = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(_CPU, [tf.config.LogicalDeviceConfiguration()] * 2)

import dataclasses  # noqa: E402

import keras  # noqa: E402
from absl import app, flags, logging  # noqa: E402

from cgan import data, distribute, registry, runtime  # noqa: E402
from cgan.architectures import blocks  # noqa: E402
from cgan.config import Config  # noqa: E402
from cgan.context import resolve  # noqa: E402
from cgan.loop import non_finite  # noqa: E402
from cgan.modes.train import build_trainer  # noqa: E402
from experiments import timing  # noqa: E402

# Each switch: the Config fields it sets (plain is the default Config) and whether batch norm
# synchronizes over replicas (it always does in the framework; "BN per replica" measures its cost).
SWITCHES = {
    "plain": ({}, True),
    "steps_per_execution=8": ({"steps_per_execution": 8}, True),
    "jit_compile": ({"jit_compile": True}, True),
    "bfloat16": ({"mixed_precision": "bfloat16"}, True),
    "float16": ({"mixed_precision": "float16"}, True),
    "2 replicas": ({"strategy": "mirrored"}, True),
    "BN per replica": ({}, False),
}
# The tutorial's models, batch, noise and Adam (dcgan itself trains with Radford et al.'s).
TUTORIAL = Config(arch="dcgan", batch_size=256, latent_dim=100, learning_rate=1e-4, beta_1=0.9)

flags.DEFINE_list("archs", None, "Architectures to measure (default: every registered one).")
flags.DEFINE_list("switches", list(SWITCHES), f"Switches to measure: {', '.join(SWITCHES)}.")
flags.DEFINE_integer("windows", 5, "Timed windows per figure; the median is reported.")
flags.DEFINE_float(
    "window_seconds",
    4.0,
    "Length of a timed window (three times that for the tutorial's slow steps).",
)
flags.DEFINE_integer(
    "batch_size", Config().batch_size, "Global batch size of the per-architecture table."
)
flags.DEFINE_bool("tutorial_only", False, "Measure only the framework against the bare loop.")
flags.DEFINE_string("mnist_dir", None, "Folder of the four MNIST files (default $CGAN_MNIST_DIR).")
FLAGS = flags.FLAGS


def medians(calls, windows, seconds):
    """{name: median images/s} of the `calls` (see rates)."""
    measured = timing.rates(calls, windows, seconds)
    return {name: statistics.median(values) for name, values in measured.items()}


def framework(config, images, labels, synchronized=True):
    """A call of the framework's train loop: config.steps_per_execution steps, losses fetched and
    checked; `synchronized=False` builds the models with batch norm per replica."""
    strategy = distribute.make_strategy(config.strategy)
    with blocks.synchronized_batch_norm(synchronized):
        trainer = build_trainer(resolve(config, strategy))
    per_step = config.batch_size * trainer.recipe.critic_steps
    dataset = data.training_dataset(
        images, labels, per_step, config.seed, step_inputs=trainer.step_inputs
    )
    iterator = iter(strategy.experimental_distribute_dataset(dataset))

    def call():
        outputs = trainer.train_step(iterator, config.steps_per_execution)
        metrics = {k: float(v) for k, v in outputs.items()}
        problem = non_finite(metrics)
        if problem:
            raise RuntimeError(f"{config.arch} diverged while measured: {problem}")
        return config.steps_per_execution * per_step

    return call


def bare_loop(config, images):
    """The TensorFlow DCGAN tutorial's training loop, for the same models: float images shuffled and
    batched by tf.data, noise drawn in the step, one tf.function, nothing fetched."""
    keras.utils.set_random_seed(config.seed)
    spec = data.spec(config.data_source)
    build = registry.get(config.arch).build
    generator, discriminator = build(spec.image_shape, config.latent_dim, spec.num_classes)
    recipe = config.recipe
    adam = dict(learning_rate=recipe.learning_rate, beta_1=recipe.beta_1, beta_2=recipe.beta_2)
    g_optimizer, d_optimizer = keras.optimizers.Adam(**adam), keras.optimizers.Adam(**adam)
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    batch = config.batch_size
    labels = tf.zeros([batch], tf.int32)  # the models take labels; unconditional ones ignore them
    scaled = (images.astype("float32") - 127.5) / 127.5
    dataset = tf.data.Dataset.from_tensor_slices(scaled).shuffle(len(scaled))
    iterator = iter(dataset.batch(batch, drop_remainder=True).repeat())

    @tf.function
    def train_step(real):
        noise = tf.random.normal([batch, config.latent_dim])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = generator([noise, labels], training=True)
            real_output = discriminator([real, labels], training=True)
            fake_output = discriminator([fake, labels], training=True)
            g_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            d_loss = cross_entropy(tf.ones_like(real_output), real_output) + cross_entropy(
                tf.zeros_like(fake_output), fake_output
            )
        g_gradients = g_tape.gradient(g_loss, generator.trainable_variables)
        d_gradients = d_tape.gradient(d_loss, discriminator.trainable_variables)
        g_optimizer.apply_gradients(zip(g_gradients, generator.trainable_variables))
        d_optimizer.apply_gradients(zip(d_gradients, discriminator.trainable_variables))

    def call():
        train_step(next(iterator))
        return batch

    return call


def pipeline_alone(config, images, labels):
    """A call that only reads the framework's input pipeline (step inputs for the tutorial's
    batch)."""
    trainer = build_trainer(resolve(config, tf.distribute.get_strategy()))
    iterator = iter(
        data.training_dataset(
            images, labels, config.batch_size, config.seed, step_inputs=trainer.step_inputs
        )
    )

    def call():
        next(iterator)
        return config.batch_size

    return call


def main(argv):
    logging.set_verbosity(logging.ERROR)  # TensorFlow logs every collective it sets up
    archs = FLAGS.archs or registry.names()
    unknown = [name for name in FLAGS.switches if name not in SWITCHES]
    if unknown:
        sys.exit(f"error: unknown switches {', '.join(unknown)}; known: {', '.join(SWITCHES)}")
    # Once, before any model is built: run.py's settings, which no switch changes, so the figures
    # are the trainer's speed as users get it.
    runtime.configure(Config())
    images, labels = data.load_arrays("train", Config(mnist_dir=FLAGS.mnist_dir).data_source)
    windows, seconds = FLAGS.windows, FLAGS.window_seconds
    print(
        f"{os.cpu_count()} CPU cores; median of {windows} windows of {seconds:g} s "
        "after warm-up; images/s"
    )

    tutorial = timing.rates(
        {
            "bare": bare_loop(TUTORIAL, images),
            "framework": framework(TUTORIAL, images, labels),
            "pipeline": pipeline_alone(TUTORIAL, images, labels),
        },
        windows,
        3 * seconds,
    )
    median = {name: statistics.median(values) for name, values in tutorial.items()}
    ratios = [f / b for f, b in zip(tutorial["framework"], tutorial["bare"])]  # window by window
    print(
        "\nThe TensorFlow DCGAN tutorial's configuration: its models (dcgan), batch 256, "
        "noise 100, Adam 1e-4 with beta_1 0.9"
    )
    print("(median; in brackets the slowest and fastest window)")
    for name, title in (
        ("bare", "bare tf.function GradientTape loop"),
        ("framework", "cgan framework (run.py's loop)"),
        ("pipeline", "the framework's input pipeline alone"),
    ):
        values = tutorial[name]
        print(f"  {title:<37} {median[name]:9.0f}  ({min(values):.0f}-{max(values):.0f})")
    print(
        f"  framework / bare loop: {statistics.median(ratios):.3f} "
        f"(window pairs {min(ratios):.3f}-{max(ratios):.3f})"
    )
    if FLAGS.tutorial_only:
        return

    table = {}
    for arch in archs:
        base = Config(arch=arch, batch_size=FLAGS.batch_size)
        calls = {}
        for name in FLAGS.switches:
            fields, synchronized = SWITCHES[name]
            config = dataclasses.replace(base, **fields)
            calls[name] = framework(config, images, labels, synchronized)
        table[arch] = medians(calls, windows, seconds)
        print(f"  measured {arch}", file=sys.stderr)
    columns = FLAGS.switches
    print(f"\nEvery architecture, batch {FLAGS.batch_size}, its own recipe; in brackets: x plain")
    print(f"{'arch':<10}" + "".join(f"{name:>24}" for name in columns))
    for arch, figures in table.items():
        cells = [
            f"{figures[name]:.0f}"
            + (f" ({figures[name] / figures['plain']:.2f}x)" if "plain" in figures else "")
            for name in columns
        ]
        print(f"{arch:<10}" + "".join(f"{cell:>24}" for cell in cells))
    print(
        "\n2 replicas: MirroredStrategy over two logical CPU devices sharing the same cores; "
        "BN per replica: batch norm not synchronized (what synchronizing costs)"
    )


if __name__ == "__main__":
    app.run(main)
