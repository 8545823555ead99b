"""Speed of the default cgan step: images/s in float32 and bfloat16, the FLOPs per image counted
from the models, and the share of this CPU's arithmetic peak that is; arms of other widths.

    python experiments/benchmark_speed.py                          # cgan, float32 and bfloat16
    python experiments/benchmark_speed.py --d_width=64,32 --rounds=6   # a narrower D beside it
    python experiments/benchmark_speed.py --precisions=off --profile=10    # top ops of 10 steps

Arms are every (precision, G width, D width) asked for; they take turns, one window each per
round, after a warm-up, so a machine's drift slows every arm alike; each figure is the median of
the rounds' windows. A call is what run.py's loop does per step: GANTrainer.train_step on the
input pipeline of cgan.data, the losses fetched as Python floats. FLOPs are counted from the
layers' shapes (2 per multiply-add of every convolution, transposed convolution and dense
layer), over the passes the joint step makes (cgan.trainer's _joint_update: G forward, D forward
on reals and fakes, D's weight gradients, D's input gradients for D's loss and again for G's,
G's weight and input gradients); normalization, activations and Adam are not counted. The peak
is the best of a few large float32 matmuls in this process. Nothing is written but --profile's
trace, into a temporary folder.
"""

import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import dataclasses  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402

import tensorflow as tf  # noqa: E402
from absl import app, flags, logging  # noqa: E402
from keras import layers  # noqa: E402

from cgan import data, distribute, runtime  # noqa: E402
from cgan.config import Config  # noqa: E402
from cgan.context import resolve  # noqa: E402
from cgan.loop import non_finite  # noqa: E402
from cgan.modes.train import build_trainer  # noqa: E402
from experiments import timing  # noqa: E402

flags.DEFINE_string("arch", "cgan", "Architecture to measure.")
flags.DEFINE_list("precisions", ["off", "bfloat16"], "--mixed_precision of each arm.")
flags.DEFINE_list("g_width", [""], "G widths of the arms ('' for the architecture's own).")
flags.DEFINE_list("d_width", [""], "D widths of the arms ('' for the architecture's own).")
flags.DEFINE_integer("batch_size", Config().batch_size, "Global batch size.")
flags.DEFINE_integer("rounds", 5, "Rounds of windows, each arm timed once per round.")
flags.DEFINE_float("window_seconds", 4.0, "Length of a timed window.")
flags.DEFINE_integer("intra_op", 0, "TensorFlow intra-op threads (0: TensorFlow's choice).")
flags.DEFINE_integer("inter_op", 0, "TensorFlow inter-op threads (0: TensorFlow's choice).")
flags.DEFINE_integer("matmul_side", 4096, "Side of the square float32 matmul that finds the peak.")
flags.DEFINE_integer("profile", 0, "Also trace this many steps of the first arm; print top ops.")
flags.DEFINE_string("mnist_dir", None, "Folder of the four MNIST files (default $CGAN_MNIST_DIR).")
FLAGS = flags.FLAGS


def framework(config, images, labels):
    """(call, trainer): a call trains one step as run.py's loop does and returns its images."""
    trainer = build_trainer(resolve(config, distribute.make_strategy(config.strategy)))
    per_step = config.batch_size * trainer.recipe.critic_steps
    dataset = data.training_dataset(
        images, labels, per_step, config.seed, step_inputs=trainer.step_inputs
    )
    iterator = iter(dataset)

    def call():
        problem = non_finite({k: float(v) for k, v in trainer.train_step(iterator).items()})
        if problem:
            raise RuntimeError(f"{config.arch} diverged while measured: {problem}")
        return per_step

    return call, trainer


def macs(layer):
    """Multiply-adds of one forward pass of `layer` for one example (0 for other layers)."""
    if isinstance(layer, layers.Conv2DTranspose):  # every input pixel meets the whole kernel
        (_, height, width, channels) = layer.input.shape
        return height * width * channels * layer.filters * int(tf.reduce_prod(layer.kernel_size))
    if isinstance(layer, layers.Conv2D):
        (_, height, width, _) = layer.output.shape
        return height * width * int(tf.reduce_prod(layer.kernel.shape))
    if isinstance(layer, layers.Dense):
        return int(tf.reduce_prod(layer.kernel.shape))
    return 0


def flops_per_image(trainer):
    """FLOPs of one image of a joint train step (critic_steps 1, no input-gradient penalty):
    G forward, weight and input gradients (3 passes); each D layer forward and weight gradients
    on reals and fakes (4), input gradients for D's loss on both (2, none for the layer that
    reads the images) and for G's loss on fakes (1). None for other recipes."""
    recipe = trainer.recipe
    if recipe.critic_steps != 1 or recipe.gradient_penalty or recipe.r1 or recipe.r2:
        return None
    images = trainer.discriminator.inputs[0]
    g = sum(3 * macs(layer) for layer in trainer.generator.layers)
    d = sum(
        (5 if any(t is images for t in tf.nest.flatten(layer.input)) else 7) * macs(layer)
        for layer in trainer.discriminator.layers
        if macs(layer)
    )
    return 2 * (g + d), g / (g + d)


def matmul_peak(side, repeats=5):
    """The best FLOP/s of `repeats` float32 matmuls of two side x side matrices."""
    a = tf.random.normal([side, side])
    b = tf.random.normal([side, side])
    product = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
    product(a, b).numpy()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        product(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * side**3 / best


def profile(call, steps):
    """Traces `steps` calls: [{column label: value}] of the profiler's framework op table."""
    from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as plugin

    with tempfile.TemporaryDirectory() as folder:
        tf.profiler.experimental.start(folder)
        for _ in range(steps):
            call()
        tf.profiler.experimental.stop()
        paths = [
            os.path.join(root, name)
            for root, _, names in os.walk(folder)
            for name in names
            if name.endswith(".xplane.pb")
        ]
        table, _ = plugin.xspace_to_tools_data(paths, "framework_op_stats", {})
    table = json.loads(table)[0]  # the first table: every op; a second one lacks the idle time
    labels = [column["label"] for column in table["cols"]]
    return [dict(zip(labels, (cell["v"] for cell in row["c"]))) for row in table["rows"]]


def print_profile(rows, steps):
    """Self time per op type over the traced steps, largest first, with the share that is not
    convolution."""
    by_type = {}
    for row in rows:
        if row["Operation Type"] == "IDLE":
            continue
        kind = row["Operation Type"]
        by_type[kind] = by_type.get(kind, 0.0) + row["Total self-time (us)"]
    total = sum(by_type.values())
    convolution = sum(spent for kind, spent in by_type.items() if "Conv" in kind)
    print(f"\nProfile of {steps} steps, self time by op type: {total / steps / 1e3:.1f} ms a step")
    for kind, spent in sorted(by_type.items(), key=lambda item: -item[1])[:20]:
        print(f"  {kind:<36} {spent / steps / 1e3:8.2f} ms  {spent / total:6.1%}")
    print(f"  not convolution: {1 - convolution / total:.1%} of the ops' time")


def main(argv):
    logging.set_verbosity(logging.ERROR)
    if FLAGS.intra_op:  # before TensorFlow starts: it refuses after
        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.intra_op)
    if FLAGS.inter_op:
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.inter_op)
    runtime.configure(Config())  # run.py's process-wide settings
    base = Config(arch=FLAGS.arch, batch_size=FLAGS.batch_size, mnist_dir=FLAGS.mnist_dir)
    images, labels = data.load_arrays("train", base.data_source)
    arms = {}
    for precision, g_width, d_width in itertools.product(
        FLAGS.precisions, FLAGS.g_width, FLAGS.d_width
    ):
        widths = dict(g_width=int(g_width) if g_width else None)
        widths.update(d_width=int(d_width) if d_width else None)
        config = dataclasses.replace(base, mixed_precision=precision, **widths)
        name = f"{precision} G {g_width or 'own'} D {d_width or 'own'}"
        arms[name] = framework(config, images, labels)
    peak = matmul_peak(FLAGS.matmul_side)
    rates = timing.rates(
        {name: call for name, (call, _) in arms.items()}, FLAGS.rounds, FLAGS.window_seconds
    )
    peak_after = matmul_peak(FLAGS.matmul_side)
    threads = (
        tf.config.threading.get_intra_op_parallelism_threads(),
        tf.config.threading.get_inter_op_parallelism_threads(),
    )
    print(
        f"{FLAGS.arch}, batch {FLAGS.batch_size}, {os.cpu_count()} CPU cores, intra/inter-op "
        f"threads {threads[0]}/{threads[1]} (0: TensorFlow's choice); median of {FLAGS.rounds} "
        f"rounds of {FLAGS.window_seconds:g} s windows, arms taking turns"
    )
    print(
        f"float32 matmul peak ({FLAGS.matmul_side}^2): {peak / 1e9:.0f} GFLOP/s before, "
        f"{peak_after / 1e9:.0f} after; the fraction uses the better"
    )
    peak = max(peak, peak_after)
    first = None
    print(
        f"\n{'arm':<28}{'images/s':>10}{'range':>14}{'x first':>9}{'MFLOP/img':>11}"
        f"{'G share':>9}{'GFLOP/s':>9}{'of f32 peak':>13}"
    )
    for name, (_, trainer) in arms.items():
        median = statistics.median(rates[name])
        first = first or median
        spread = f"{min(rates[name]):.0f}-{max(rates[name]):.0f}"
        counted = flops_per_image(trainer)
        flops, g_share = counted if counted else (float("nan"), float("nan"))
        print(
            f"{name:<28}{median:10.0f}{spread:>14}{median / first:9.2f}{flops / 1e6:11.0f}"
            f"{g_share:9.0%}{median * flops / 1e9:9.0f}{median * flops / peak:13.1%}"
        )
    if FLAGS.profile:
        call, _ = next(iter(arms.values()))
        print_profile(profile(call, FLAGS.profile), FLAGS.profile)


if __name__ == "__main__":
    app.run(main)
