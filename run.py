"""Front door: absl flags -> one frozen Config -> the cgan library.

    python run.py --arch=cgan --digit=7     # train (or reuse) a cGAN, draw 7s
    python run.py --arch=cgan               # all ten digits in one grid
    python run.py --mode=compare --archs=dense,cgan --budget_images=60000   # side by side
"""

import contextlib
import dataclasses
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's C++ info and warnings


@contextlib.contextmanager
def quiet_stderr():
    """Silences file descriptor 2: TensorFlow's CUDA probes print there before any log level applies."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


with quiet_stderr():
    import tensorflow as tf

    tf.config.list_physical_devices()  # the device probe happens here, silently

from absl import app, flags, logging  # noqa: E402

import cgan  # noqa: E402  (registers the architectures, so --arch can list them)
from cgan import registry  # noqa: E402
from cgan.config import DRAWINGS, EXPORT_FORMATS, MIXED_PRECISION, MODES, ON_DIVERGENCE, STRATEGIES, Config  # noqa: E402

DEFAULTS = Config()
FLAGS = flags.FLAGS
flags.DEFINE_enum("arch", DEFAULTS.arch, registry.names(), "Registered architecture to train or draw from.")
flags.DEFINE_enum(
    "mode", DEFAULTS.mode, list(MODES),
    "train: train (or resume, or reuse) then draw; generate: draw only; evaluate: score with the dataset's judge; "
    "compare: train and score every --archs arm on one budget, side by side.",
)
flags.DEFINE_integer("digit", None, "Label to draw (a digit for MNIST); unconditional models then train on it only.")
flags.DEFINE_string(
    "dataset", DEFAULTS.dataset,
    "A tensorflow-datasets image classification dataset (mnist, fashion_mnist, kmnist, emnist/digits, cifar10, ...) "
    "or folder:PATH, a folder of images with one sub-folder per class.",
)
flags.DEFINE_integer("image_size", None, "Resize the images to this side, a multiple of 4 (28, 32, 64; default: as stored).")
flags.DEFINE_integer("epochs", DEFAULTS.epochs, "Passes over the training set.")
flags.DEFINE_integer("steps", None, "Generator steps; overrides --epochs (for quick runs).")
flags.DEFINE_integer("budget_images", None, "Train until this many images are seen (replaces --epochs).")
flags.DEFINE_float("budget_seconds", None, "Train for this many wall seconds, scoring excluded (replaces --epochs).")
flags.DEFINE_integer("batch_size", DEFAULTS.batch_size, "Global batch size (summed over replicas).")
flags.DEFINE_integer("latent_dim", DEFAULTS.latent_dim, "Size of the noise vector z.")
flags.DEFINE_float("learning_rate", None, "Adam learning rate (default: the architecture's).")
flags.DEFINE_string(
    "learning_rate_decay", None,
    "The learning rate over the budget: constant, or linear (to zero at its end); default: the architecture's.",
)
flags.DEFINE_float("beta_1", None, "Adam's first-moment decay, in [0, 1) (default: the architecture's).")
flags.DEFINE_float("class_weight", None, "Weight of the class head's loss, for architectures with one (default: the architecture's).")
flags.DEFINE_float("mode_seeking", None, "Weight of the generator's mode-seeking term (MSGAN), 0 to disable (default: the architecture's).")
flags.DEFINE_float("ema", None, "Generator weight averaging decay, 0 to disable (default: the architecture's).")
flags.DEFINE_integer("seed", DEFAULTS.seed, "Random seed for weights, data order and the grids' noise.")
flags.DEFINE_string("output_dir", None, "Run folder (default runs/<arch>, or runs/<arch>-digit<k> when unconditional).")
flags.DEFINE_string("mnist_dir", None, "Folder with the four original MNIST .gz files, for offline use (or $CGAN_MNIST_DIR).")
flags.DEFINE_string("manual_dir", None, "Folder with another tensorflow-datasets dataset's original files, for offline use.")
flags.DEFINE_string("data_dir", None, "Where tensorflow-datasets keeps prepared datasets (default: its own).")
flags.DEFINE_integer("num_samples", DEFAULTS.num_samples, "Images to draw (grid) and to export.")
flags.DEFINE_string("export", None, "generate mode: also write the samples to this .npz file.")
flags.DEFINE_enum("export_format", DEFAULTS.export_format, list(EXPORT_FORMATS), "npz_and_png also writes a folder of PNGs.")
flags.DEFINE_string("samples", None, "evaluate mode: score this .npz (export format) instead of the run's generator.")
flags.DEFINE_integer("eval_every", None, "train mode: score with the judge every this many epochs.")
flags.DEFINE_integer("eval_samples", DEFAULTS.eval_samples, "Images generated for each score.")
flags.DEFINE_integer("log_every", DEFAULTS.log_every, "Steps between history.csv rows and TensorBoard points.")
flags.DEFINE_integer("checkpoint_every", DEFAULTS.checkpoint_every, "Steps between checkpoints (one is also saved per epoch).")
flags.DEFINE_integer("keep_checkpoints", DEFAULTS.keep_checkpoints, "How many of the latest checkpoints to keep.")
flags.DEFINE_bool("deterministic", DEFAULTS.deterministic, "TensorFlow op determinism: the same seed gives identical weights.")
flags.DEFINE_enum(
    "on_divergence", DEFAULTS.on_divergence, list(ON_DIVERGENCE),
    "When a loss or weight becomes NaN or infinite: stop (keep the last good checkpoint, exit 3) or restore "
    "(resume from it at half the learning rate).",
)
flags.DEFINE_bool("overwrite", DEFAULTS.overwrite, "Start over in an output folder that holds another or a finished run.")
flags.DEFINE_enum(
    "draw", DEFAULTS.draw, list(DRAWINGS),
    "What train and generate draw: grid (the digits asked for), interpolation (a walk between two noises), "
    "sweep (one noise per row drawn as digits 0-9; conditional models).",
)
flags.DEFINE_enum(
    "strategy", DEFAULTS.strategy, list(STRATEGIES),
    "tf.distribute strategy: auto (several GPUs: mirrored; one GPU: one_device; else the CPU), default, "
    "one_device, mirrored (every GPU, else every logical CPU), multi_worker (the machines TF_CONFIG names), tpu.",
)
flags.DEFINE_enum(
    "mixed_precision", DEFAULTS.mixed_precision, list(MIXED_PRECISION),
    "Compute in bfloat16 or float16 (with loss scaling), weights in float32; pays on GPUs and TPUs, not on CPUs.",
)
flags.DEFINE_bool("jit_compile", DEFAULTS.jit_compile, "Compile each train step with XLA; pays on GPUs and TPUs, not on CPUs.")
flags.DEFINE_integer("steps_per_execution", DEFAULTS.steps_per_execution,
                     "Train steps per compiled call (fewer calls from Python; pays on accelerators).")
flags.DEFINE_list("archs", None, "compare mode: comma-separated architectures (default: every registered one).")
flags.DEFINE_integer("seeds", DEFAULTS.seeds, "compare mode: train each arm with this many seeds, from --seed on.")
flags.DEFINE_string("experiment", None, "compare mode: a named experiment of experiments/configs.py.")

CONFIG_FLAGS = (
    "arch", "mode", "digit", "dataset", "image_size", "epochs", "steps", "budget_images", "budget_seconds", "batch_size", "latent_dim",
    "learning_rate", "learning_rate_decay", "beta_1", "class_weight", "mode_seeking", "ema", "seed", "output_dir", "mnist_dir", "manual_dir", "data_dir", "num_samples", "export",
    "export_format", "samples", "eval_every", "eval_samples", "log_every", "draw", "archs", "seeds",
    "checkpoint_every", "keep_checkpoints", "deterministic", "on_divergence", "overwrite", "strategy",
    "mixed_precision", "jit_compile", "steps_per_execution",
)


def fail(message, label="error", exit_code=2):
    """Prints one line to stderr and exits non-zero: bad input never gets a traceback."""
    print(f"{label}: {message}", file=sys.stderr)
    sys.exit(exit_code)


def parse_flags(argv):
    """absl parsing with flag errors turned into one line instead of usage text."""
    try:
        return FLAGS(argv)
    except flags.Error as error:
        fail(str(error).splitlines()[0])


def flag_values(names):
    """{name: value} of the named flags, --archs as a tuple (the Config is frozen)."""
    values = {name: getattr(FLAGS, name) for name in names}
    if values.get("archs") is not None:
        values["archs"] = tuple(values["archs"])
    return values


def make_config():
    """The Config of the flags or, with --experiment, that experiment's Config with the flags given
    on the command line applied on top (a budget flag replaces the experiment's budget)."""
    if not FLAGS.experiment:
        return Config(**flag_values(CONFIG_FLAGS))
    from experiments import configs  # beside run.py: found when run.py is run from any folder

    base = configs.get(FLAGS.experiment)
    given = flag_values([name for name in CONFIG_FLAGS if FLAGS[name].present])
    if "budget_images" in given or "budget_seconds" in given:
        given = dict(dict(budget_images=None, budget_seconds=None), **given)
    return dataclasses.replace(base, **given)


def main(argv):
    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])}")
    logging.set_verbosity(logging.ERROR)  # tfds logs every file it opens, and warns about its own folders
    failure = None
    try:
        written = run(make_config())
    except cgan.CganError as error:
        failure = (str(error), error.label, error.exit_code)
    except KeyboardInterrupt:  # a second Ctrl-C, or one outside the train loop (which saves a checkpoint first)
        failure = ("stopped by Ctrl-C; run the same command to resume from the last checkpoint", "interrupted", 130)
    except OSError as error:  # a full disk, a file removed under our feet: one line, files stay whole
        failure = (f"{error.strerror}: {error.filename}" if error.filename else str(error),)
    if failure:
        # Exit outside the except block: an exception kept alive as the exit's context keeps the
        # training frames and their tf.data iterator alive until interpreter shutdown, which hangs.
        fail(*failure)
    for path in written:
        print(f"wrote {path}")


def run(config):
    """Runs the mode `config` asks for; returns the paths written."""
    from cgan import run_lib

    if config.mode == "compare":
        from cgan import compare

        table, written = compare.compare(config)
        print(table)
        return written
    if config.mode == "train":
        path = run_lib.train(config)
        return [path] if path else []  # a multi-worker run's other workers write nothing to report
    if config.mode == "generate":
        return run_lib.generate(config)
    metrics, written = run_lib.evaluate(config)
    print(run_lib.metrics_table(metrics))
    return written


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
