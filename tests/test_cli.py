"""run.py refuses bad input with one clear line, exit code 2 and no traceback, and leaves the
output folder exactly as it was: wrong types, out-of-range values, unknown names, conflicting
flags, missing, unreadable or tampered files, an unwritable or locked output folder.

Every bad command line goes through run.py's own entry point (flag parsing, then main) in this
process, which takes milliseconds instead of the 4 s a new process spends importing TensorFlow;
a few of them also run as real processes, to show the whole command behaves the same.
"""

import contextlib
import dataclasses
import gzip
import os
import shutil
import subprocess

import numpy as np
import pytest
from absl import flags
from conftest import assert_refused, run_cli, run_in_process, snapshot
from PIL import Image

from cgan import data, options
from cgan.config import Config
from cgan.files import locked_folder

EARLIER = b"earlier result"
KNOWN_ARCHS = ["cgan", "dcgan", "dense", "wgan_gp"]

# (name, arguments, texts the error line must hold). {out} is the case's output folder, which
# holds an earlier result; --output_dir={out} is added unless the arguments name another one.
# The other {names} are files made by the `paths` fixture.
CASES = [
    # wrong types
    ("digit_not_a_number", ["--digit=seven"], ["--digit"]),
    ("checkpoint_every_not_a_number", ["--checkpoint_every=ten"], ["--checkpoint_every", "ten"]),
    ("deterministic_not_a_boolean", ["--deterministic=maybe"], ["--deterministic", "maybe"]),
    ("jit_compile_not_a_boolean", ["--jit_compile=fast"], ["--jit_compile", "fast"]),
    # out-of-range values
    (
        "digit_10",
        ["--digit=10", "--mnist_dir={mnist}", "--data_dir={data_dir}"],
        ["--digit must be a label of mnist, 0 to 9"],
    ),
    ("no_epochs", ["--epochs=0"], ["--epochs must be positive"]),
    ("negative_steps", ["--steps=-3"], ["--steps must be positive"]),
    ("empty_batch", ["--batch_size=0"], ["--batch_size must be positive"]),
    ("checkpoint_every_0", ["--checkpoint_every=0"], ["--checkpoint_every must be positive"]),
    (
        "steps_per_execution_0",
        ["--steps_per_execution=0"],
        ["--steps_per_execution must be positive"],
    ),
    ("keep_no_checkpoints", ["--keep_checkpoints=-1"], ["--keep_checkpoints must be positive"]),
    ("negative_seed", ["--seed=-1"], ["--seed must be in [0, 2**32)"]),
    ("learning_rate_nan", ["--learning_rate=nan"], ["--learning_rate must be positive"]),
    ("ema_1.5", ["--ema=1.5"], ["--ema must be in [0, 1)"]),
    ("beta_1_1", ["--beta_1=1"], ["--beta_1 must be in [0, 1)"]),
    ("beta_2_1.5", ["--arch=dcgan", "--beta_2=1.5"], ["--beta_2 must be in [0, 1), got 1.5"]),
    ("no_critic_steps", ["--critic_steps=0"], ["--critic_steps must be positive"]),
    ("gradient_penalty_negative", ["--gradient_penalty=-1"], ["--gradient_penalty must be >= 0"]),
    (
        "class_weight_without_class_head",
        ["--arch=dense", "--class_weight=1"],
        ["--class_weight", "dense has none"],
    ),
    ("mode_seeking_negative", ["--mode_seeking=-1"], ["--mode_seeking must be >= 0"]),
    (
        "mode_seeking_odd_batch",
        ["--batch_size=63", "--steps=1", "--mnist_dir={mnist}", "--data_dir={data_dir}"],
        ["--mode_seeking compares pairs", "--batch_size 63"],
    ),
    (
        "budget_after_experiment",
        ["--experiment=all_15min", "--budget_images=-5"],
        ["--budget_images must be positive"],
    ),
    (
        "batch_larger_than_mnist",
        ["--batch_size=100000", "--mnist_dir={mnist}", "--data_dir={data_dir}"],
        ["--batch_size 100000 is larger than the 60000 training images"],
    ),
    # unknown names
    ("unknown_arch", ["--arch=gan9000"], ["--arch", *KNOWN_ARCHS]),
    ("unknown_mode", ["--mode=dream"], ["--mode must be one of train, generate, evaluate"]),
    (
        "unknown_loss",
        ["--loss=l2"],
        ["--loss must be one of bce, hinge, relativistic, wasserstein, got 'l2'"],
    ),
    (
        "unknown_learning_rate_decay",
        ["--learning_rate_decay=cosine"],
        ["--learning_rate_decay must be one of constant, hold, linear, got 'cosine'"],
    ),
    ("unknown_drawing", ["--draw=mosaic"], ["--draw must be one of grid, interpolation, sweep"]),
    (
        "unknown_divergence_policy",
        ["--on_divergence=ignore"],
        ["--on_divergence", "stop", "restore"],
    ),
    ("unknown_export_format", ["--export_format=gif"], ["--export_format"]),
    ("unknown_strategy", ["--strategy=gpu9000"], ["--strategy", "mirrored", "multi_worker", "tpu"]),
    (
        "unknown_mixed_precision",
        ["--mixed_precision=int8"],
        ["--mixed_precision", "bfloat16", "float16"],
    ),
    ("unknown_flag", ["--no_such_flag=1"], ["no_such_flag"]),
    ("stray_argument", ["stray"], ["unexpected arguments"]),
    (
        "unknown_compare_arm",
        ["--mode=compare", "--archs=dense,gan9000", "--budget_images=100"],
        ["--archs", "gan9000", *KNOWN_ARCHS],
    ),
    ("unknown_experiment", ["--experiment=gan9000"], ["unknown experiment", "all_15min", "quick"]),
    # conflicting flags
    ("steps_and_budget", ["--steps=10", "--budget_images=100"], ["--steps and a budget"]),
    ("two_budgets", ["--budget_images=100", "--budget_seconds=5"], ["give one budget"]),
    (
        "overwrite_in_generate_mode",
        ["--mode=generate", "--overwrite"],
        ["--overwrite", "--mode=generate"],
    ),
    ("samples_in_train_mode", ["--samples=x.npz"], ["--samples is for --mode=evaluate"]),
    ("archs_in_train_mode", ["--archs=dense"], ["--archs is for --mode=compare only"]),
    (
        "sweep_of_an_unconditional_model",
        ["--arch=dense", "--draw=sweep"],
        ["--draw=sweep needs a conditional"],
    ),
    ("export_not_npz", ["--mode=generate", "--export=out.txt"], ["--export must name an .npz"]),
    (
        "speed_switches_in_generate_mode",
        ["--mode=generate", "--jit_compile", "--steps_per_execution=4"],
        ["--jit_compile, --steps_per_execution set how training runs", "--mode=generate"],
    ),
    (
        "multi_worker_compare",
        ["--mode=compare", "--strategy=multi_worker", "--budget_images=100"],
        ["--strategy=multi_worker", "--mode=compare"],
    ),
    ("no_tpu", ["--strategy=tpu", "--steps=1"], ["--strategy=tpu: no TPU found"]),
    # missing, unreadable or tampered files
    (
        "samples_missing",
        ["--mode=evaluate", "--samples=/nonexistent/x.npz"],
        ["--samples", "not a readable .npz"],
    ),
    (
        "samples_not_npz",
        ["--mode=evaluate", "--samples={out}/notes.txt"],
        ["--samples", "not a readable .npz"],
    ),
    ("generate_without_a_model", ["--mode=generate"], ["no trained generator"]),
    (
        "mnist_dir_missing",
        ["--mnist_dir={tmp}/missing", "--data_dir={tmp}/tfds-missing"],
        ["--mnist_dir", "not a readable folder"],
    ),
    (
        "mnist_file_missing",
        ["--mnist_dir={mnist_without_labels}", "--data_dir={tmp}/tfds-without"],
        ["train-labels-idx1-ubyte.gz", "missing or unreadable"],
    ),
    (
        "mnist_label_changed",
        ["--mnist_dir={mnist_tampered}", "--data_dir={tmp}/tfds-tampered", "--steps=1"],
        ["t10k-labels-idx1-ubyte.gz fails its checksum"],
    ),
    (
        "mnist_file_truncated",
        ["--mnist_dir={mnist_truncated}", "--data_dir={tmp}/tfds-truncated", "--steps=1"],
        ["train-images-idx3-ubyte.gz fails its checksum"],
    ),
    (
        "prepared_mnist_truncated",
        ["--mnist_dir={mnist}", "--data_dir={prepared_truncated}", "--steps=1"],
        ["the prepared mnist in", "is unreadable", "delete that folder"],
    ),
    # datasets that cannot be used
    (
        "unknown_dataset",
        ["--dataset=no_such_set"],
        ["tensorflow-datasets has no dataset 'no_such_set'", "folder:PATH"],
    ),
    (
        "dataset_without_labels",
        ["--dataset=celeb_a"],
        ["has no 'image' and class 'label' features"],
    ),
    (
        "image_size_not_a_multiple_of_4",
        ["--image_size=30"],
        ["--image_size must be a multiple of 4"],
    ),
    (
        "mnist_dir_for_another_dataset",
        ["--dataset=kmnist", "--mnist_dir={mnist}"],
        ["--mnist_dir is for --dataset=mnist"],
    ),
    (
        "offline_dataset_without_files",
        ["--dataset=kmnist", "--data_dir={tmp}/tfds-kmnist", "--steps=1"],
        ["kmnist is not prepared and cannot be downloaded", "--manual_dir"],
    ),
    (
        "manual_dir_without_the_files",
        [
            "--dataset=fashion_mnist",
            "--manual_dir={mnist_without_labels}",
            "--data_dir={tmp}/tfds-fashion",
            "--steps=1",
        ],
        ["fashion_mnist file", "train-labels-idx1-ubyte.gz", "missing or unreadable"],
    ),
    (
        "folder_dataset_missing",
        ["--dataset=folder:{tmp}/no-such-folder", "--steps=1"],
        ["not a readable folder"],
    ),
    (
        "digit_beyond_a_folders_classes",
        ["--dataset=folder:{two_classes}", "--digit=2", "--steps=1"],
        ["--digit must be a label of folder:", "0 to 1, got 2"],
    ),
    # output folders that cannot be used
    (
        "output_dir_inside_a_file",
        ["--output_dir={out}/notes.txt/run", "--steps=1"],
        ["cannot use", "notes.txt/run", "Not a directory"],
    ),
    ("output_dir_unwritable", ["--steps=1"], ["cannot write in"]),
    (
        "output_dir_locked_by_another_run",
        ["--steps=1"],
        ["is in use by another run (pid", "choose another --output_dir"],
    ),
]


def _tampered_mnist(mnist_dir, folder, name, change):
    """A copy of the MNIST folder in which the file `name` is rewritten as change(bytes)."""
    shutil.copytree(mnist_dir, folder)
    path = os.path.join(folder, name)
    with open(path, "rb") as f:
        content = f.read()
    with open(path, "wb") as f:
        f.write(change(content))
    return folder


def _change_last_label(gzipped):
    """One changed label: still a valid gzip and IDX file, so only the checksum can tell."""
    content = bytearray(gzip.decompress(gzipped))
    content[-1] = (content[-1] + 1) % 10
    return gzip.compress(bytes(content))


# Placeholders made from the real MNIST files: only the cases that name one need them.
MNIST_PLACEHOLDERS = ("{mnist", "{data_dir}", "{prepared_truncated}")


def needs_mnist(args):
    return any(key in arg for arg in args for key in MNIST_PLACEHOLDERS)


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    """The files the bad command lines that need no MNIST point at."""
    tmp = tmp_path_factory.mktemp("bad-input")
    two_classes = tmp / "two-classes"
    for name in ("a", "b"):
        (two_classes / name).mkdir(parents=True)
        for index in range(10):
            Image.fromarray(np.zeros((8, 8), np.uint8)).save(two_classes / name / f"{index}.png")
    return dict(tmp=tmp, two_classes=two_classes)


@pytest.fixture(scope="module")
def mnist_paths(paths, mnist_dir, data_dir, mnist_source):
    """`paths` and the MNIST files and tampered copies the other bad command lines point at."""
    tmp = paths["tmp"]
    data.load_arrays("train", mnist_source)  # prepared here, so the copy below has something to cut
    prepared_truncated = tmp / "tfds-prepared-truncated"
    shutil.copytree(data_dir, prepared_truncated)
    (train_records,) = prepared_truncated.glob("mnist/*/mnist-train.tfrecord*")
    os.truncate(train_records, os.path.getsize(train_records) // 2)
    without_labels = tmp / "mnist-without-labels"
    shutil.copytree(mnist_dir, without_labels)
    os.remove(without_labels / "train-labels-idx1-ubyte.gz")
    return dict(
        paths,
        mnist=mnist_dir,
        data_dir=data_dir,
        prepared_truncated=prepared_truncated,
        mnist_without_labels=without_labels,
        mnist_tampered=_tampered_mnist(
            mnist_dir, tmp / "mnist-tampered", "t10k-labels-idx1-ubyte.gz", _change_last_label
        ),
        mnist_truncated=_tampered_mnist(
            mnist_dir,
            tmp / "mnist-truncated",
            "train-images-idx3-ubyte.gz",
            lambda content: content[: len(content) // 2],
        ),
    )


@contextlib.contextmanager
def bad_command_line(name, args, paths, out):
    """The arguments of case `name` for output folder `out` (which gets an earlier result), with
    the folder made unwritable or locked by this process while the block runs, if the case says
    so."""
    out.mkdir()
    (out / "digits.png").write_bytes(EARLIER)
    (out / "notes.txt").write_text("not an npz, not a folder")
    args = [arg.format(out=out, **paths) for arg in args]
    if not any(arg.startswith("--output_dir=") for arg in args):
        args.append(f"--output_dir={out}")
    with contextlib.ExitStack() as stack:
        if name == "output_dir_unwritable":
            stack.enter_context(_unwritable(out))
        if name == "output_dir_locked_by_another_run":
            stack.enter_context(locked_folder(out))
        yield args


@contextlib.contextmanager
def _unwritable(folder):
    """`folder` made unwritable, even for root (chattr +i; chmod is enough for other users)."""
    os.chmod(folder, 0o555)
    immutable = (
        os.geteuid() == 0
        and subprocess.run(["chattr", "+i", folder], capture_output=True).returncode == 0
    )
    try:
        if os.geteuid() == 0 and not immutable:
            pytest.skip("cannot make a folder unwritable for root here (no chattr)")
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", folder], check=True)
        os.chmod(folder, 0o755)


@pytest.mark.parametrize("name, args, expected", CASES, ids=[name for name, _, _ in CASES])
def test_a_bad_command_line_is_refused_in_one_line_and_touches_nothing(
    name, args, expected, request, tmp_path, capfd
):
    out = tmp_path / "out"
    paths = request.getfixturevalue("mnist_paths" if needs_mnist(args) else "paths")
    with bad_command_line(name, args, paths, out) as argv:
        before = snapshot(out)
        result = run_in_process(capfd, *argv)
        assert_refused(result, out, before, *expected)
    assert (out / "digits.png").read_bytes() == EARLIER


REAL_PROCESS_CASES = [
    case
    for case in CASES
    if case[0]
    in (
        "mnist_label_changed",  # the data, read in the real process
        "output_dir_locked_by_another_run",  # a lock held by another process
    )
]  # two: every case runs in-process above; tests/test_shipped.py runs `cgan` (and `python -m
# cgan`) with an unknown experiment and with good flags


@pytest.mark.parametrize(
    "name, args, expected", REAL_PROCESS_CASES, ids=[name for name, _, _ in REAL_PROCESS_CASES]
)
def test_the_real_command_refuses_them_the_same_way(name, args, expected, request, tmp_path):
    out = tmp_path / "out"
    paths = request.getfixturevalue("mnist_paths" if needs_mnist(args) else "paths")
    with bad_command_line(name, args, paths, out) as argv:
        before = snapshot(out)
        assert_refused(run_cli(*argv), out, before, *expected)


def config_of(*args):
    """The Config run.py makes of a command line, without running it."""
    from cgan import cli

    cli.FLAGS.unparse_flags()
    cli.parse_flags(["run.py", *args])
    return cli.make_config()


def test_every_config_field_is_a_flag_of_run_py_with_its_default_and_help_and_nothing_else_is():
    from cgan import cli

    defined = {flag.name: flag for flag in cli.FLAGS.get_flags_for_module(cli)}
    # --import is the one flag not named as its field: `import` is a Python keyword.
    assert set(defined) == {cli.flag_name(field.name) for field in dataclasses.fields(Config)}
    assert cli.flag_name("imports") == "import"
    for field in dataclasses.fields(Config):
        flag = defined[cli.flag_name(field.name)]
        default = list(field.default) if isinstance(field.default, tuple) else field.default
        assert flag.default == default
        # (absl adds "; repeat this option ..." to a repeatable flag's help)
        assert flag.help.startswith(options.help_text(field))
        assert field.metadata["help"] in flag.help
        if options.choices(field):  # a plain string flag: Config alone checks the value
            assert not isinstance(flag, flags.EnumFlag) and "One of: " in flag.help
    assert config_of() == Config()


def test_the_recipe_flags_reach_the_configs_recipe():
    recipe = config_of(
        "--arch=dcgan", "--beta_2=0.9", "--loss=hinge", "--critic_steps=2", "--gradient_penalty=5"
    ).recipe
    assert (recipe.beta_2, recipe.loss) == (0.9, "hinge")
    assert (recipe.critic_steps, recipe.gradient_penalty) == (2, 5.0)
    assert config_of("--arch=dcgan").recipe.beta_2 == 0.999  # unset: the architecture's
    quick = config_of("--experiment=quick", "--beta_2=0.5")
    assert quick.recipe.beta_2 == 0.5 and quick.archs == ("dense", "cgan")


def test_a_bad_choice_is_refused_once_by_config_listing_every_choice(tmp_path, capfd):
    for field in dataclasses.fields(Config):
        if options.choices(field):
            before = snapshot(tmp_path)
            argv = [f"--{field.name}=no_such_choice", f"--output_dir={tmp_path}"]
            result = run_in_process(capfd, *argv)
            assert_refused(
                result,
                tmp_path,
                before,
                f"--{field.name} must be one of",
                ", ".join(options.choices(field)),
                "got 'no_such_choice'",
            )
