"""A full disk at a checkpoint: one line on stderr and exit 2, never a traceback, and nothing
earlier lost. The real thing runs on a small tmpfs (needs root and mount(8), else skipped); the
patched save below covers the same refusal anywhere."""

import os
import subprocess

import pytest
import tensorflow as tf
from conftest import run_cli, run_in_process, snapshot

from cgan import checkpoints
from cgan.errors import CganError

MEGABYTE = 1 << 20
# A dense checkpoint (weights and Adam slots) is ~23 MB: 3 MB fails the first one.
SMALL, ROOMY = "3m", "64m"


def train_args(out, dataset, steps):
    """A dense run on synthetic digits: batch 16 makes an epoch 84 steps; one checkpoint is
    kept, so that two fit beside the exports on a roomy tmpfs."""
    return [
        "--arch=dense",
        f"--steps={steps}",
        "--batch_size=16",
        "--keep_checkpoints=1",
        f"--dataset={dataset}",
        f"--output_dir={out}",
    ]


@pytest.fixture
def tmpfs(tmp_path):
    """mount(size): a folder on a fresh tmpfs of that size, unmounted after the test."""
    mounted = []

    def mount(size):
        folder = tmp_path / f"tmpfs{len(mounted)}"
        folder.mkdir()
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
        )
        if result.returncode:
            pytest.skip(f"cannot mount a tmpfs ({result.stderr.strip()}): see the patched tests")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=True)


def assert_no_space(result, *expected):
    """Exit 2, no traceback, one stderr line "error: No space left on device: ..."."""
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: No space left on device: "), lines[0]
    for text in expected:
        assert text in lines[0], lines[0]


def listed(folder):
    """The checkpoints the list in `folder` names, by step."""
    state = tf.train.get_checkpoint_state(str(folder))
    return [checkpoints.checkpoint_step(path) for path in state.all_model_checkpoint_paths]


def test_a_disk_too_small_for_the_first_checkpoint_is_refused_in_one_line(tmpfs, synthetic_digits):
    run = tmpfs(SMALL) / "run"
    result = run_cli(*train_args(run, synthetic_digits, steps=200))
    assert_no_space(result, f"{run}/checkpoints", "step 0", "run it again")
    assert os.listdir(run / "checkpoints") == []  # the save's temporary shards are gone


def test_a_disk_full_at_a_later_checkpoint_keeps_the_last_good_one_to_resume_from(
    tmpfs, synthetic_digits, capfd
):
    disk = tmpfs(ROOMY)
    run, folder = disk / "run", disk / "run" / "checkpoints"
    first = run_in_process(capfd, *train_args(run, synthetic_digits, steps=10))
    assert first.returncode == 0, first.stderr[-2000:]
    before = snapshot(folder)
    # Room for the log rows and the epoch's grid, not for the checkpoint at its end (step 84).
    filler = disk / "filler"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with open(filler, "wb") as f:
        os.posix_fallocate(f.fileno(), 0, free - 2 * MEGABYTE)
    args = train_args(run, synthetic_digits, steps=100)

    assert_no_space(run_cli(*args), str(folder), "step 84", f"resume from {folder}/ckpt-10")
    assert snapshot(folder) == before  # nothing of the failed save left, the list unchanged

    filler.unlink()
    resumed = run_in_process(capfd, *args)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming from step 10" in resumed.stdout
    assert listed(folder) == [100]


@pytest.fixture
def manager(tmp_path):
    """A manager of a one-variable checkpoint in tmp_path/checkpoints that saved ckpt-10."""
    opened = checkpoints.open_manager(
        tf.train.Checkpoint(step=tf.Variable(0)), str(tmp_path / "checkpoints"), keep=3
    )
    checkpoints.save(opened, 10)
    return opened


def fail_saving(monkeypatch, error):
    """Makes every CheckpointManager.save write what a save cut short leaves, then raise."""

    def save(self, checkpoint_number):
        prefix = os.path.join(self.directory, f"ckpt-{checkpoint_number}")
        os.makedirs(f"{prefix}_temp")
        open(f"{prefix}_temp/part-00000-of-00001.data-00000-of-00001.tempstate1", "w").close()
        open(f"{prefix}.index", "w").close()
        open(os.path.join(self.directory, "checkpoint.tmp0123abcd"), "w").close()
        raise error

    monkeypatch.setattr(tf.train.CheckpointManager, "save", save)


def test_a_save_failing_for_space_is_refused_and_leaves_the_listed_checkpoints_alone(
    manager, monkeypatch
):
    folder = manager.directory
    before = snapshot(folder)
    fail_saving(monkeypatch, tf.errors.ResourceExhaustedError(None, None, "SaveV2 failed"))
    with pytest.raises(CganError) as refused:
        checkpoints.save(manager, 20)
    assert str(refused.value) == (
        f"No space left on device: {folder}: cannot save the checkpoint of step 20; "
        f"free some space, then resume from {folder}/ckpt-10 with the same command"
    )
    assert refused.value.exit_code == 2
    assert snapshot(folder) == before
    assert listed(folder) == [10]


def test_other_failed_saves_are_refused_in_one_line_too(manager, monkeypatch):
    message = "ckpt-20_temp/part; No space left on device\n\tmore lines [Op:MergeV2Checkpoints]"
    fail_saving(monkeypatch, tf.errors.UnknownError(None, None, message))
    with pytest.raises(CganError, match=r"^No space left on device: .*step 20; free some space"):
        checkpoints.save(manager, 20)
    fail_saving(monkeypatch, tf.errors.PermissionDeniedError(None, None, "read-only\nfile system"))
    with pytest.raises(CganError, match=r"^read-only: .*cannot save the checkpoint of step 20;"):
        checkpoints.save(manager, 20)
    assert listed(manager.directory) == [10]


def test_a_first_save_cut_short_is_swept_not_taken_for_a_lost_list(tmp_path):
    folder = tmp_path / "checkpoints"
    (folder / "ckpt-0_temp").mkdir(parents=True)
    (folder / "ckpt-0_temp" / "part-00000-of-00001.data-00000-of-00001.tempstate1").touch()
    (folder / "checkpoint.tmp0123abcd").touch()
    manager = checkpoints.open_manager(
        tf.train.Checkpoint(step=tf.Variable(0)), str(folder), keep=3
    )
    assert manager.latest_checkpoint is None
    assert os.listdir(folder) == []


def test_a_full_disk_in_a_tensorflow_writer_is_one_line_and_other_faults_still_show(
    capfd, monkeypatch
):
    from cgan import cli

    def summary_flush(config):  # what TensorBoard's writer raises on a full disk
        raise tf.errors.ResourceExhaustedError(None, None, "events.out: No space left on device")

    monkeypatch.setattr(cli, "run", summary_flush)
    result = run_in_process(capfd, "--arch=dense")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == "error: events.out: No space left on device"

    def bug(config):
        raise ValueError("a bug, not the disk")

    monkeypatch.setattr(cli, "run", bug)
    with pytest.raises(ValueError, match="a bug"):  # a traceback, as a bug should have
        run_in_process(capfd, "--arch=dense")


def test_a_write_that_names_no_file_is_refused_naming_the_file(tmp_path):
    from cgan.files import atomic_path

    target = tmp_path / "generator.keras"
    target.write_text("the earlier export")
    with pytest.raises(OSError) as raised:
        with atomic_path(str(target)) as temporary:
            open(temporary, "w").close()
            raise OSError(28, "No space left on device")  # as Keras' zip writer raises it
    assert (raised.value.strerror, raised.value.filename) == (
        "No space left on device",
        str(target),
    )
    assert target.read_text() == "the earlier export"
    assert os.listdir(tmp_path) == ["generator.keras"]
