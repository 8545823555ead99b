"""Shared fixtures (the real MNIST files, a per-session tfds folder) and helpers for command-line tests."""

import os
import subprocess
import sys
import types

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIBLING_MNIST = os.path.join(REPO, "..", "shared", "data", "mnist")


@pytest.fixture(scope="session")
def mnist_dir():
    """The four original MNIST files: $CGAN_MNIST_DIR, else ../shared/data/mnist."""
    path = os.environ.get("CGAN_MNIST_DIR") or SIBLING_MNIST
    if not os.path.exists(os.path.join(path, "train-images-idx3-ubyte.gz")):
        pytest.skip("real MNIST files not found: set CGAN_MNIST_DIR")
    return os.path.abspath(path)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """A tfds data folder shared by the session, so MNIST is prepared once."""
    return str(tmp_path_factory.mktemp("tfds"))


@pytest.fixture(scope="session")
def mnist_source(mnist_dir, data_dir):
    """MNIST from the real files, prepared in the session's tfds folder (cgan.data's DataSource)."""
    from cgan.config import DataSource

    return DataSource(manual_dir=mnist_dir, data_dir=data_dir)


def run_cli(*args, env_extra=None, timeout=300):
    """Runs run.py with `args` in a fresh process; returns the CompletedProcess (text output)."""
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run(
        [sys.executable, os.path.join(REPO, "run.py"), *map(str, args)],
        capture_output=True, text=True, env=env, timeout=timeout,
    )


def run_in_process(capfd, *args):
    """run.py's entry point, as app.run calls it, in this process: what a finished process would
    give (returncode, stderr), stderr read at the file-descriptor level. 4 s faster than run_cli."""
    import run

    run.FLAGS.unparse_flags()
    capfd.readouterr()
    try:
        run.main(run.parse_flags(["run.py", *map(str, args)]))
        code = 0
    except SystemExit as exit:
        code = exit.code
    captured = capfd.readouterr()
    return types.SimpleNamespace(returncode=code, stdout=captured.out, stderr=captured.err)


def snapshot(folder):
    """{relative path: (mtime, size)} of every file under `folder`: equal snapshots mean untouched."""
    return {
        os.path.relpath(os.path.join(root, name), folder): (os.path.getmtime(os.path.join(root, name)),
                                                             os.path.getsize(os.path.join(root, name)))
        for root, _, names in os.walk(folder)
        for name in names
    }


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
