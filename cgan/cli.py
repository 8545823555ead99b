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

from cgan import api, options, plugins, runfolder
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


# A field whose flag has another name: `import` is a Python keyword, so its field is plural.
FLAG_NAMES = {"imports": "import"}
REPEATED = {"imports"}  # fields given by repeating their flag (--import=a --import=b)


def flag_name(field_name):
    return FLAG_NAMES.get(field_name, field_name)


def define_flags():
    """One flag per Config field, named after it, with its default and help text; the values are
    plain (enum-like fields too), so Config alone validates them."""
    hints = typing.get_type_hints(Config)
    for field in dataclasses.fields(Config):
        default = list(field.default) if isinstance(field.default, tuple) else field.default
        define = flags.DEFINE_multi_string if field.name in REPEATED else None
        define = define or DEFINE[flag_type(hints[field.name])]
        define(flag_name(field.name), default, options.help_text(field))


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
    """{field name: value} of the named fields' flags, list flags as tuples (the Config is
    frozen)."""
    values = {name: FLAGS[flag_name(name)].value for name in names}
    return {
        name: tuple(value) if isinstance(value, list) else value for name, value in values.items()
    }


def import_plugins():
    """Imports the --import modules and the entry points' before any flag is validated (they may
    register the --arch asked for), then those of the run in --output_dir (not to be started
    over), which a later command on it needs. Returns the specs of --import as recorded."""
    specs = plugins.import_plugins(*FLAGS["import"].value)
    if FLAGS.output_dir and not FLAGS.overwrite:
        runfolder.import_recorded(FLAGS.output_dir)
    return tuple(specs)


def make_config():
    """The Config of the flags or, with --experiment, that experiment's Config with the flags given
    on the command line applied on top (a budget flag replaces the experiment's budget). Drawing
    from, scoring or exporting a run folder takes what its model is (architecture, plugins, data)
    from its run.json unless a flag says otherwise."""
    imports = import_plugins()
    names = [field.name for field in dataclasses.fields(Config)]
    given = flag_values([name for name in names if FLAGS[flag_name(name)].present])
    if imports:  # as recorded: a .py file by its absolute path
        given["imports"] = imports
    if FLAGS.experiment:
        from experiments import configs  # installed beside the cgan package (setup.cfg)

        return api.make_config(configs.get(FLAGS.experiment), **given)
    values = flag_values(names)
    if FLAGS.mode in FROM_FOLDER and not (FLAGS.generator or FLAGS.samples):
        values.update(runfolder.model_fields(FLAGS.output_dir))
    return Config(**dict(values, **given))


FROM_FOLDER = ("generate", "evaluate", "export")  # modes that reopen the run in --output_dir


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
    """Runs the mode `config` asks for, after the process-wide TensorFlow settings; prints its
    summary (a table) and returns the paths written."""
    from cgan import runtime
    from cgan.modes import MODES

    runtime.configure(config)
    mode = MODES[config.mode]
    result = mode.run(config)
    summary = mode.summary(result)
    if summary is not None:
        print(summary)
    return mode.written(result)


def console():
    """The `cgan` command and `python -m cgan`: the same as `python run.py`."""
    app.run(main, flags_parser=parse_flags)
