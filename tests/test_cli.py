"""run.py refuses bad input with one clear line, a non-zero exit and no traceback,
and leaves whatever is already in the output folder untouched."""

import gzip
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO


def _snapshot(folder):
    return {
        os.path.relpath(os.path.join(root, name), folder): os.path.getmtime(os.path.join(root, name))
        for root, _, names in os.walk(folder)
        for name in names
    }


def run_cli(*args, env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run(
        [sys.executable, os.path.join(REPO, "run.py"), *args],
        capture_output=True, text=True, env=env, timeout=300,
    )


@pytest.fixture
def earlier_results(tmp_path):
    """An output folder holding an earlier result that must survive every refusal."""
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "digits.png").write_bytes(b"earlier result")
    return folder


def _assert_refused(result, folder, before, *expected):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for text in expected:
        assert text in lines[0], lines[0]
    assert _snapshot(folder) == before
    assert (folder / "digits.png").read_bytes() == b"earlier result"


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--arch=gan9000"], ["--arch", "cgan", "dcgan", "dense", "wgan_gp"]),
        (["--digit=10"], ["--digit", "0 and 9"]),
        (["--digit=seven"], ["--digit"]),
        (["--epochs=0"], ["--epochs must be positive"]),
        (["--steps=-3"], ["--steps must be positive"]),
        (["--batch_size=0"], ["--batch_size must be positive"]),
        (["--mode=dream"], ["--mode"]),
        (["stray"], ["unexpected arguments"]),
        (["--samples=x.npz"], ["--samples is for --mode=evaluate"]),
        (["--mode=evaluate", "--samples=/nonexistent/x.npz"], ["--samples", "not a readable .npz"]),
        (["--export_format=gif"], ["--export_format"]),
        (["--mode=compare", "--archs=dense,gan9000", "--budget_images=100"],
         ["--archs", "gan9000", "cgan", "dcgan", "dense", "wgan_gp"]),
        (["--experiment=gan9000"], ["unknown experiment", "all_15min", "quick"]),
        # a budget flag replaces the experiment's budget (no "give one budget"), then is checked
        (["--experiment=all_15min", "--budget_images=-5"], ["--budget_images must be positive"]),
    ],
)
def test_bad_flags_are_refused(earlier_results, args, expected):
    before = _snapshot(earlier_results)
    result = run_cli(*args, f"--output_dir={earlier_results}")
    _assert_refused(result, earlier_results, before, *expected)


def test_unreadable_mnist_dir_is_refused(earlier_results, tmp_path):
    before = _snapshot(earlier_results)
    result = run_cli(f"--output_dir={earlier_results}", f"--mnist_dir={tmp_path / 'missing'}",
                     f"--data_dir={tmp_path / 'tfds'}")
    _assert_refused(result, earlier_results, before, "--mnist_dir", "not a readable folder")


def test_mnist_file_with_a_wrong_checksum_is_refused(earlier_results, tmp_path, mnist_dir):
    tampered = tmp_path / "mnist"
    shutil.copytree(mnist_dir, tampered)
    name = "t10k-labels-idx1-ubyte.gz"
    with gzip.open(tampered / name, "rb") as f:
        content = bytearray(f.read())
    content[-1] = (content[-1] + 1) % 10  # one changed label: still a valid gzip and IDX file
    with gzip.open(tampered / name, "wb") as f:
        f.write(bytes(content))
    before = _snapshot(earlier_results)
    result = run_cli(f"--output_dir={earlier_results}", f"--mnist_dir={tampered}",
                     f"--data_dir={tmp_path / 'tfds'}", "--steps=1")
    _assert_refused(result, earlier_results, before, "checksum")


def test_generate_without_a_trained_model_is_refused(earlier_results):
    before = _snapshot(earlier_results)
    result = run_cli("--mode=generate", f"--output_dir={earlier_results}")
    _assert_refused(result, earlier_results, before, "no trained generator")
