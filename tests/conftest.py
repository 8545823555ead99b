"""Shared fixtures (the real MNIST files, a per-session tfds folder, a synthetic digit folder,
the MNIST judge) and helpers for command-line tests.

A process started with the session prepares MNIST in the session's tfds folder and loads the
shipped judge (its reference and floor copied into a cold cache), another checks replica
equivalence, and the modules whose tests wait for either run last. A module may also name
commands to run once the judge's process has ended (`after_judge_jobs`, see
processes.AfterJudge): they run in processes of their own on the other core while this process
runs the rest, and the modules with such jobs run last of all.
"""

import os
import signal
import subprocess
import sys
import time
import types

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# One thread in each TensorFlow and numpy (OpenBLAS) pool, for this process and every one it
# starts unless it says otherwise: two processes share the 2 cores for most of the session, and
# pools sized for every core spin against each other.
TF_POOLS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
# The pools the user set (theirs are kept everywhere), remembered for the processes the session
# starts, which inherit ours.
os.environ.setdefault("CGAN_TEST_USER_POOLS", ",".join(n for n in TF_POOLS if n in os.environ))
USER_POOLS = [name for name in os.environ["CGAN_TEST_USER_POOLS"].split(",") if name]
for name in (*TF_POOLS, "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(name, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from processes import AfterJudge, start  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMAND = os.path.join(os.path.dirname(sys.executable), "cgan")  # installed by setup.cfg
SIBLING_MNIST = os.path.join(REPO, "..", "shared", "data", "mnist")
SYNTHETIC_PER_CLASS = 150  # 135 training images a class: an epoch of batch 32 is 42 steps
# Prepares MNIST in the session's tfds folder, which the tests wait for (data_dir), then loads
# the MNIST judge and reads its reference and floor, in the cache every run uses.
JUDGE_SCRIPT = """
import sys
from cgan import data, runtime, scores
from cgan.config import Config, DataSource
from cgan.judge import load_judge
runtime.configure(Config())
source = DataSource(manual_dir=sys.argv[1], data_dir=sys.argv[2])
data.load_arrays("train", source)
open(sys.argv[3], "w").close()
judge = load_judge(source, verbose=0)
scores.real_floor(judge)  # the reference features too
"""


def find_mnist_dir():
    """The folder of the four original MNIST files ($CGAN_MNIST_DIR, else ../shared/data/mnist),
    or None when it does not hold them."""
    path = os.environ.get("CGAN_MNIST_DIR") or SIBLING_MNIST
    if not os.path.exists(os.path.join(path, "train-images-idx3-ubyte.gz")):
        return None
    return os.path.abspath(path)


@pytest.fixture(scope="session")
def mnist_dir():
    """The four original MNIST files: $CGAN_MNIST_DIR, else ../shared/data/mnist."""
    path = find_mnist_dir()
    if path is None and os.environ.get("CGAN_REQUIRE_MNIST"):  # CI: no quality bound unchecked
        pytest.fail("real MNIST files not found in $CGAN_MNIST_DIR, and CGAN_REQUIRE_MNIST is set")
    if path is None:
        pytest.skip("real MNIST files not found: set CGAN_MNIST_DIR")
    return path


def pytest_collection_modifyitems(items):
    """Modules with a test that waits for a process started with the session (the MNIST judge's,
    replica equivalence's) run last, and of those the ones with jobs after the judge, but for
    those whose jobs are first in the queue (JOBS_FIRST), each in file order, as the others."""
    waits = {"mnist_judge", "replica_equivalence"}
    late = {item.path for item in items if waits & set(getattr(item, "fixturenames", ()))}

    def waits_for_jobs(module):
        return hasattr(module, JOBS_HOOK) and not getattr(module, "JOBS_FIRST", False)

    # a stable sort: the order is otherwise kept
    items.sort(key=lambda item: (item.path in late, waits_for_jobs(getattr(item, "module", None))))


def equivalence_cases():
    """What tests/replica_equivalence.py checks: one architecture for each path of the step, each
    case about 10 s of CPU: a per-example mean loss and batch norm (dcgan; cgan's hinge is such a
    mean too); critic steps and the gradient penalty (wgan_gp); and cgan with every technique a
    recipe can switch on (cgan+techniques: the projection, the class head, mode-seeking and the
    weight average besides). The other architectures differ from these in widths and layers,
    not in what the step does."""
    return ["dcgan", "wgan_gp", "cgan+techniques"]


def _wanted(session, fixture):
    return any(fixture in getattr(item, "fixturenames", ()) for item in session.items)


JOBS_HOOK = "after_judge_jobs"  # a test module's function: its commands to run after the judge


def _jobs(session, tmp_path_factory, data_dir, mnist_dir):
    """The jobs after the judge that the collected tests ask for, in the modules' order."""
    wanted = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    jobs = {}
    for module in dict.fromkeys(getattr(item, "module", None) for item in session.items):
        if hasattr(module, JOBS_HOOK):
            folder = tmp_path_factory.mktemp(module.__name__.rsplit(".", 1)[-1] + "-jobs")
            made = getattr(module, JOBS_HOOK)(folder, data_dir, mnist_dir)
            for name, spec in made.items():
                if name in wanted:
                    spec.folder = folder / name
                    spec.folder.mkdir()
                    spec.cwd = spec.cwd or spec.folder
                    jobs[name] = spec
    return jobs


@pytest.fixture(scope="session")
def after_judge(background):
    """The AfterJudge of the session (see there): a fixture of a job that needs the judge asks for
    mnist_judge first, so that it is skipped, as that is, without the MNIST files."""
    return background.after_judge


@pytest.fixture(scope="session")
def tfds_folder(tmp_path_factory):
    """The session's tfds data folder, as made: see data_dir."""
    return tmp_path_factory.mktemp("tfds")


@pytest.fixture(scope="session", autouse=True)
def background(request, tmp_path_factory, tfds_folder):
    """The slow checks with processes of their own, started with the session when a collected
    test asks for them, to overlap the tests before: the MNIST judge's process (when the files are
    there: it prepares MNIST, then loads the judge with its reference and floor),
    tests/replica_equivalence.py (at the jobs' lower priority: on the CPU this process leaves),
    and the jobs after the judge (AfterJudge). None for each that is not started."""
    started = types.SimpleNamespace(judge=None, equivalence=None, after_judge=None)
    mnist = find_mnist_dir()
    if _wanted(request.session, "mnist_judge") and mnist:
        folder = tmp_path_factory.mktemp("judge")
        prepared = folder / "prepared"  # made once MNIST is prepared in tfds_folder
        command = [sys.executable, "-c", JUDGE_SCRIPT, mnist, str(tfds_folder), str(prepared)]
        started.judge = start(folder, command, cwd=REPO)
        started.judge.prepared = prepared
    if _wanted(request.session, "replica_equivalence"):
        script = os.path.join(REPO, "tests", "replica_equivalence.py")
        command = [sys.executable, script, *equivalence_cases()]
        started.equivalence = start(
            tmp_path_factory.mktemp("equivalence"), command, AfterJudge.NICE, cwd=REPO
        )
    jobs = _jobs(request.session, tmp_path_factory, str(tfds_folder), mnist)
    started.after_judge = AfterJudge(started.judge, jobs) if jobs else None
    try:
        yield started
    finally:
        for run in (started.judge, started.equivalence):
            if run is not None and run.process.poll() is None:
                os.killpg(run.process.pid, signal.SIGKILL)
            if run is not None:
                run.process.wait()
        if started.after_judge is not None:
            started.after_judge.stop()


@pytest.fixture(scope="session")
def mnist_judge(mnist_source, background):
    """The MNIST judge (cgan.judge.load_judge of the real files), once its process has made its
    reference and floor."""
    from cgan.judge import load_judge

    if background.judge is not None and background.judge.process.wait() != 0:
        pytest.fail(f"loading the judge failed:\n{background.judge.stderr.read_text()[-3000:]}")
    return load_judge(mnist_source, verbose=0)


@pytest.fixture(scope="session")
def replica_equivalence(background):
    """The running tests/replica_equivalence.py: its process and the files of its output."""
    return background.equivalence


@pytest.fixture(scope="session", autouse=True)
def process_settings():
    """The process-wide TensorFlow settings run.py makes (cgan.runtime), made once for the whole
    session as for a run, so library calls here behave as under run.py whatever runs first. Op
    determinism stays off: once on, it cannot be turned off for the tests after."""
    from cgan import runtime
    from cgan.config import Config

    runtime.configure(Config())


@pytest.fixture(scope="session")
def data_dir(tfds_folder, background):
    """A tfds data folder shared by the session, so MNIST is prepared once: by the judge's
    process when a collected test scores with the judge (two processes must never prepare one
    folder), so this waits for that; else by the first test that reads MNIST."""
    judge = background.judge
    while judge is not None and not judge.prepared.exists():
        if judge.process.poll() is not None:
            pytest.fail(f"preparing MNIST failed:\n{judge.stderr.read_text()[-3000:]}")
        time.sleep(0.2)
    return str(tfds_folder)


@pytest.fixture(scope="session")
def mnist_source(mnist_dir, data_dir):
    """MNIST from the real files, prepared in the session's tfds folder (cgan.data's DataSource)."""
    from cgan.config import DataSource

    return DataSource(manual_dir=mnist_dir, data_dir=data_dir)


@pytest.fixture(scope="session")
def synthetic_digits(tmp_path_factory):
    """--dataset=folder:PATH of ten classes "0".."9" of 28 x 28 gray PNGs (a bright square whose
    place is the class, on noise): MNIST's shape for run tests that need no real digits."""
    return write_synthetic_digits(tmp_path_factory.mktemp("synthetic_digits"))


def write_synthetic_digits(folder):
    """The synthetic_digits images, written in `folder` (a pathlib.Path); its --dataset value."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in range(10):
        os.makedirs(folder / str(label))
        row, column = divmod(label, 4)
        for index in range(SYNTHETIC_PER_CLASS):
            image = rng.integers(0, 60, (28, 28), dtype=np.uint8)
            image[2 + 8 * row : 10 + 8 * row, 2 + 6 * column : 10 + 6 * column] = 230
            Image.fromarray(image).save(folder / str(label) / f"{index:03d}.png")
    return f"folder:{folder}"


def run_cli(*args, env_extra=None, timeout=300):
    """Runs run.py with `args` in a fresh process; returns the CompletedProcess (text output)."""
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run(
        [sys.executable, os.path.join(REPO, "run.py"), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def run_in_process(capfd, *args):
    """run.py's entry point, as app.run calls it, in this process: what a finished process would
    give (returncode, stderr), stderr read at the file-descriptor level. 4 s faster than
    run_cli."""
    from cgan import cli

    cli.FLAGS.unparse_flags()
    capfd.readouterr()
    try:
        cli.main(cli.parse_flags(["run.py", *map(str, args)]))
        code = 0
    except SystemExit as exit:
        code = exit.code
    captured = capfd.readouterr()
    return types.SimpleNamespace(returncode=code, stdout=captured.out, stderr=captured.err)


def snapshot(folder):
    """{relative path: (mtime, size)} of every file under `folder`: equal snapshots: untouched."""
    found = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            found[os.path.relpath(path, folder)] = (os.path.getmtime(path), os.path.getsize(path))
    return found


def assert_refused(result, folder, before, *expected, exit_code=2, label="error"):
    """A refusal: exit `exit_code`, no traceback, one stderr line "<label>: ..." holding every
    `expected` text, and `folder` exactly as it was (`before`, a snapshot)."""
    assert result.returncode == exit_code, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{label}: ")
    for text in expected:
        assert text in lines[0], lines[0]
    assert snapshot(folder) == before
