"""The command line: absl flags generated from the Config fields -> one frozen Config -> a mode.

cgan --arch=cgan --digit=7     # train (or reuse) a cGAN, draw 7s (or: python run.py ...)
cgan --arch=cgan               # all ten digits in one grid
cgan --mode=compare --archs=dense,cgan --budget_images=60000   # side by side
"""

import dataclasses
import sys
import types
import typing

from absl import app, flags, logging

from cgan import api, options
from cgan.config import Config
from cgan.errors import NO_SPACE, CganError, first_line

FLAGS = flags.FLAGS
DEFINE = {
    bool: flags.DEFINE_bool,
    int: flags.DEFINE_integer,
    float: flags.DEFINE_float,
    str: flags.DEFINE_string,
    tuple: flags.DEFINE_list,
}  # by the type a flag parses


def flag_type(annotation):
    """The type a field's flag parses: int for Optional[int], tuple for tuple[str, ...]."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):  # Optional[X]
        (annotation,) = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    return typing.get_origin(annotation) or annotation


def define_flags():
    """One flag per Config field, named after it, with its default and help text; the values are
    plain (enum-like fields too), so Config alone validates them."""
    hints = typing.get_type_hints(Config)
    for field in dataclasses.fields(Config):
        default = list(field.default) if isinstance(field.default, tuple) else field.default
        DEFINE[flag_type(hints[field.name])](field.name, default, options.help_text(field))


define_flags()


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
    """{name: value} of the named flags, list flags as tuples (the Config is frozen)."""
    values = {name: getattr(FLAGS, name) for name in names}
    return {
        name: tuple(value) if isinstance(value, list) else value for name, value in values.items()
    }


def make_config():
    """The Config of the flags or, with --experiment, that experiment's Config with the flags given
    on the command line applied on top (a budget flag replaces the experiment's budget)."""
    names = [field.name for field in dataclasses.fields(Config)]
    if not FLAGS.experiment:
        return Config(**flag_values(names))
    from experiments import configs  # installed beside the cgan package (setup.cfg)

    given = flag_values([name for name in names if FLAGS[name].present])
    return api.make_config(configs.get(FLAGS.experiment), **given)


def main(argv):
    if len(argv) > 1:
        fail(f"unexpected arguments: {' '.join(argv[1:])}")
    logging.set_verbosity(
        logging.ERROR
    )  # tfds logs every file it opens, and warns about its own folders
    failure = None
    try:
        written = run(make_config())
    except CganError as error:
        failure = (str(error), error.label, error.exit_code)
    except (
        KeyboardInterrupt
    ):  # a second Ctrl-C, or one outside the train loop (which saves a checkpoint first)
        failure = (
            "stopped by Ctrl-C; run the same command to resume from the last checkpoint",
            "interrupted",
            130,
        )
    except (
        OSError
    ) as error:  # a full disk, a file removed under our feet: one line, files stay whole
        failure = (f"{error.strerror}: {error.filename}" if error.filename else str(error),)
    except Exception as error:  # TensorFlow's writers (summaries) raise their own types
        if NO_SPACE not in str(error):
            raise
        failure = (first_line(error),)
    if failure:
        # Exit outside the except block: an exception kept alive as the exit's context keeps the
        # training frames and their tf.data iterator alive until interpreter shutdown, which hangs.
        fail(*failure)
    for path in written:
        print(f"wrote {path}")


def run(config):
    """Runs the mode `config` asks for, after the process-wide TensorFlow settings; returns the
    paths written."""
    from cgan import runtime, scores
    from cgan.modes import compare, evaluate, export, generate, train

    runtime.configure(config)
    if config.mode == "compare":
        comparison = compare.compare(config)
        print(comparison.table)
        return comparison.paths
    if config.mode == "train":
        path = train.train(config)
        return [path] if path else []  # a multi-worker run's other workers write nothing to report
    if config.mode == "generate":
        return generate.generate(config)
    if config.mode == "export":
        return export.export(config)
    metrics, written = evaluate.evaluate(config)
    print(scores.metrics_table(metrics))
    return written


def console():
    """The `cgan` command and `python -m cgan`: the same as `python run.py`."""
    app.run(main, flags_parser=parse_flags)
