"""A run that never loses work: determinism, resume after Ctrl-C and SIGKILL to the very same
weights, the divergence guard, --overwrite, atomic files, and refusals of truncated or tampered
run files. The runs train on synthetic digits (conftest.synthetic_digits): none of this depends
on what the images show.

The deterministic runs are real processes (op determinism is switched on for a whole process,
and SIGKILL needs a process to kill), with TensorFlow's own thread pools, as a user's run has;
they start together to share the waiting. Two runs without --deterministic gave identical
weights on this CPU too (its kernels do not race at this size), so the control is one run
without the flag: op determinism makes TensorFlow pick other kernels, so it trains other
weights, and a --deterministic that did nothing would match it. A process of the session's
background jobs drives those runs (drive, after_judge_jobs), so that this one need not wait for
them. The rest runs in this process, without --deterministic."""

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import types

import keras
import numpy as np
import pytest
from conftest import REPO, TF_POOLS, USER_POOLS, assert_refused, run_in_process, snapshot
from processes import job

from cgan import checkpoints, distribute, history
from cgan.config import Config
from cgan.context import resolve
from cgan.errors import CganError, TrainingDiverged
from cgan.files import atomic_path, write_json
from cgan.modes.train import build_trainer, train
from cgan.runfolder import RunFiles, check_same_model
from cgan.trainer import GANTrainer

STEPS, CHECKPOINT_EVERY, LOG_EVERY = 40, 10, 5


def train_args(out, dataset, steps=STEPS, deterministic=True):
    """The command line of the small runs below (cgan_fast: cgan's code and recipe at less
    arithmetic; batch 32, seed 0) on `dataset`."""
    return [
        "--arch=cgan_fast",
        f"--steps={steps}",
        f"--checkpoint_every={CHECKPOINT_EVERY}",
        "--batch_size=32",
        f"--log_every={LOG_EVERY}",
        f"--dataset={dataset}",
        f"--output_dir={out}",
    ] + (["--deterministic"] if deterministic else [])


def start(args):
    """run.py with `args`, in a process with TensorFlow's default thread pools (unless the user
    set them): one thread each would make runs agree even where op determinism did nothing."""
    env = {k: v for k, v in os.environ.items() if k not in TF_POOLS or k in USER_POOLS}
    return subprocess.Popen(
        [sys.executable, os.path.join(REPO, "run.py"), *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish(process, timeout=600):
    """(return code, stderr) of a started run."""
    _, stderr = process.communicate(timeout=timeout)
    return process.returncode, stderr


def listed_checkpoints(folder):
    """The steps of the checkpoints the run folder's checkpoint list holds (latest last)."""
    path = os.path.join(folder, "checkpoints", "checkpoint")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [int(n) for n in re.findall(r'all_model_checkpoint_paths: "ckpt-(\d+)"', f.read())]


def wait_for_checkpoint(process, folder, step):
    """Returns once the running `process` has listed checkpoint `step` (the list is replaced
    atomically after each save, so a listed checkpoint is complete)."""
    deadline = time.time() + 300
    while step not in listed_checkpoints(folder):
        assert process.poll() is None, (
            f"the run ended before checkpoint {step}: {process.stderr.read()}"
        )
        assert time.time() < deadline, f"no checkpoint {step} after 300 s"
        time.sleep(0.02)


def weights(folder, name="generator.keras"):
    """The exported generator's weights as raw bytes, in order (loaded in Keras safe mode)."""
    model = keras.models.load_model(os.path.join(folder, name), safe_mode=True, compile=False)
    return [np.asarray(weight).tobytes() for weight in model.weights]


def history_steps(folder):
    return [int(row["step"]) for row in history.read(os.path.join(folder, "history.csv"))]


def state(folder):
    """What a stopped run left: its files, listed checkpoints (and when each was written),
    history rows and their steps."""
    listed = listed_checkpoints(folder)
    # A kill can come after a save is listed and before the oldest is swept: a listed
    # checkpoint may have no files left, and has no time then.
    paths = {step: os.path.join(folder, "checkpoints", f"ckpt-{step}.index") for step in listed}
    stamps = {step: os.path.getmtime(path) for step, path in paths.items() if os.path.exists(path)}
    rows = history.read(os.path.join(folder, "history.csv"))
    return types.SimpleNamespace(
        files=sorted(os.listdir(folder)),
        checkpoints=listed,
        stamps=stamps,
        rows=rows,
        history=[int(row["step"]) for row in rows],
    )


def folders(root):
    """The runs' folders under `root`: the first, the control, the one stopped and resumed."""
    return types.SimpleNamespace(**{name: root / name for name in ("first", "control", "resumed")})


def drive(root):
    """An uninterrupted deterministic run of 40 steps, the control (the same without
    --deterministic), and a second deterministic run stopped by Ctrl-C after its checkpoint at
    step 10, run again and killed with SIGKILL after its next checkpoint, and run again to the
    end: the deterministic pair, whose resumes must change nothing either. Returns what the
    tests read, as JSON values (the runs fixture)."""
    from conftest import write_synthetic_digits

    out = folders(root)
    digits = write_synthetic_digits(root / "digits")
    args = lambda folder: train_args(folder, digits)  # noqa: E731
    first, resumed = start(args(out.first)), start(args(out.resumed))
    control = start(train_args(out.control, digits, deterministic=False))
    result = {"dataset": digits}  # copies of the runs resume on it

    wait_for_checkpoint(resumed, out.resumed, CHECKPOINT_EVERY)
    resumed.send_signal(signal.SIGINT)
    result["ctrl_c"], stopped = finish(resumed, timeout=120), state(out.resumed)
    result["after_ctrl_c"] = vars(stopped)

    resumed = start(args(out.resumed))
    killed_after = (stopped.checkpoints[-1] // CHECKPOINT_EVERY + 1) * CHECKPOINT_EVERY
    result["killed_after"] = killed_after
    assert killed_after < STEPS, "Ctrl-C came too late to leave a checkpoint to kill the run after"
    wait_for_checkpoint(resumed, out.resumed, killed_after)
    resumed.send_signal(signal.SIGKILL)
    result["kill"], result["after_kill"] = finish(resumed), vars(state(out.resumed))
    # What a kill during a write or a save leaves: a temporary file, a half-made checkpoint.
    (out.resumed / f"history.tmp{resumed.pid}.csv").write_text("step,epoch\n30,")
    (out.resumed / "checkpoints" / f"ckpt-{STEPS}_temp").mkdir()
    (out.resumed / "checkpoints" / f"ckpt-{STEPS}.index").write_bytes(b"cut short")

    result["last"] = finish(start(args(out.resumed)))
    result["first"] = finish(first)
    result["control"] = finish(control)
    return result


# drive() in a process of the session's background jobs; prints its result as one JSON line.
DRIVER = """
import json, pathlib, sys
sys.path.insert(0, sys.argv[1])
import test_reliability
print(json.dumps(test_reliability.drive(pathlib.Path(sys.argv[2]))))
"""


def after_judge_jobs(folder, data_dir, mnist_dir):
    """The runs (drive), beside the other tests (processes.AfterJudge)."""
    root = folder / "driven"
    root.mkdir()
    command = [sys.executable, "-c", DRIVER, os.path.dirname(os.path.abspath(__file__)), str(root)]
    return {"runs": job(command, timeout=600, needs_judge=False)}


@pytest.fixture(scope="module")
def runs(after_judge):
    """What drive() returned, its stopped runs' states as namespaces (checkpoint steps as ints),
    with the folders (out)."""
    driven = after_judge.finished("runs")
    result = json.loads(driven.stdout.splitlines()[-1])
    for name in ("after_ctrl_c", "after_kill"):
        stopped = result[name]
        stopped["stamps"] = {int(step): stamp for step, stamp in stopped["stamps"].items()}
        result[name] = types.SimpleNamespace(**stopped)
    return types.SimpleNamespace(out=folders(driven.folder.parent / "driven"), **result)


def op_determinism(folder):
    """Whether the run in `folder` trained with TensorFlow's op determinism on (its run.json)."""
    with open(os.path.join(folder, "run.json")) as handle:
        return json.load(handle)["op_determinism"]


def test_two_deterministic_runs_give_byte_identical_weights_and_grids(runs):
    # the pair: the first run and the resumed one (whose resumes must change nothing either)
    assert runs.first[0] == runs.last[0] == runs.control[0] == 0, (runs.first, runs.control)
    assert op_determinism(runs.out.first) and op_determinism(runs.out.resumed)
    assert op_determinism(runs.out.control) is False
    for name in ("generator.keras", "generator_raw.keras"):
        assert weights(runs.out.first, name) == weights(runs.out.resumed, name), name
        # the control: the flag changed what TensorFlow computed
        assert weights(runs.out.first, name) != weights(runs.out.control, name), name
    for name in ("digits.png", "image_at_epoch_0001.png"):
        assert (runs.out.first / name).read_bytes() == (runs.out.resumed / name).read_bytes(), name


def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(runs):
    code, stderr = runs.ctrl_c
    assert code == 130 and "Traceback" not in stderr
    (line,) = [line for line in stderr.splitlines() if line.strip()]
    match = re.fullmatch(
        r"interrupted: stopped at step (\d+) by SIGINT; saved (\S+); "
        r"run the same command to resume",
        line,
    )
    assert match, line
    step = int(match.group(1))
    assert match.group(2) == str(runs.out.resumed / "checkpoints" / f"ckpt-{step}")
    assert runs.after_ctrl_c.checkpoints[-1] == step >= CHECKPOINT_EVERY
    # stopped mid-run, mid-epoch (an epoch is 42 steps)
    assert "generator.keras" not in runs.after_ctrl_c.files
    assert max(runs.after_ctrl_c.history) <= step


def test_a_run_stopped_by_ctrl_c_then_killed_resumes_to_the_weights_of_an_uninterrupted_run(runs):
    assert runs.kill[0] == -signal.SIGKILL
    assert runs.after_kill.checkpoints[-1] >= runs.killed_after
    assert "generator.keras" not in runs.after_kill.files  # killed mid-run
    assert runs.last[0] == 0, runs.last
    for name in ("generator.keras", "generator_raw.keras"):
        assert weights(runs.out.resumed, name) == weights(runs.out.first, name), name
    assert (runs.out.resumed / "digits.png").read_bytes() == (
        runs.out.first / "digits.png"
    ).read_bytes()
    # no row twice
    assert history_steps(runs.out.resumed) == list(range(LOG_EVERY, STEPS + 1, LOG_EVERY))
    # Resumed, not restarted: what the killed run had saved up to its last checkpoint is untouched.
    resumed_from, final = runs.after_kill.checkpoints[-1], state(runs.out.resumed)
    assert resumed_from in final.checkpoints[:-1]
    assert resumed_from in runs.after_kill.stamps  # the newest listed one always has its files
    for step in set(runs.after_kill.stamps) & set(final.stamps):
        assert final.stamps[step] == runs.after_kill.stamps[step], step  # not saved again
    kept = [row for row in runs.after_kill.rows if int(row["step"]) <= resumed_from]
    assert kept and final.rows[: len(kept)] == kept  # the same rows, to their wall seconds
    # the leftovers of the kill are gone, and the checkpoints are the last three saves
    assert not [
        name for _, _, names in os.walk(runs.out.resumed) for name in names if ".tmp" in name
    ]
    assert sorted(os.listdir(runs.out.resumed / "checkpoints")) == ["checkpoint"] + [
        f"ckpt-{step}.{part}" for step in (20, 30, 40) for part in ("data-00000-of-00001", "index")
    ]


def test_a_diverging_run_stops_with_one_line_and_keeps_the_last_good_checkpoint(
    tmp_path, capfd, synthetic_digits
):
    out = tmp_path / "diverged"
    args = train_args(out, synthetic_digits, deterministic=False)
    result = run_in_process(capfd, *args, "--learning_rate=1e30")
    assert result.returncode == 3 and "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.strip()]
    assert re.fullmatch(
        r"error: training diverged at step \d+: [dg]_loss is (nan|inf); "
        r"kept the last good checkpoint, \S+/ckpt-0; "
        r"--on_divergence=restore resumes it at half the learning rate",
        line,
    ), line
    assert listed_checkpoints(out) == [0]
    assert not os.path.exists(out / "generator.keras")


@pytest.fixture
def poisoned_once(monkeypatch):
    """From the call that reaches step 25, one generator weight turns NaN, once: the step's
    losses are still finite, so the weight check at the log step (every 5) must catch it."""
    real_step = GANTrainer.train_step
    poisoned = []

    def train_step(self, iterator, steps=1):
        metrics = real_step(self, iterator, steps)
        if int(self.step) == 25 and not poisoned:
            weight = self.generator.trainable_weights[0]
            weight.assign(np.full(weight.shape, np.nan, np.float32))
            poisoned.append(True)
        return metrics

    monkeypatch.setattr(GANTrainer, "train_step", train_step)
    return poisoned


@pytest.fixture
def small_config(tmp_path, synthetic_digits):
    return Config(
        arch="dense",
        dataset=synthetic_digits,
        steps=40,
        batch_size=32,
        log_every=5,
        checkpoint_every=10,
        output_dir=str(tmp_path / "dense"),
    )


def test_a_nan_weight_stops_training_at_the_next_log_step_naming_it(small_config, poisoned_once):
    with pytest.raises(TrainingDiverged) as stop:
        train(small_config)
    assert stop.value.exit_code == 3
    assert re.fullmatch(
        r"training diverged at step 25: \S*generator/\S+ holds NaN or infinity; "
        r"kept the last good checkpoint, \S+/ckpt-20; .*",
        str(stop.value),
    ), str(stop.value)
    assert listed_checkpoints(small_config.output_dir)[-1] == 20
    assert history_steps(small_config.output_dir) == [5, 10, 15, 20]
    assert not os.path.exists(os.path.join(small_config.output_dir, "generator.keras"))


def test_restore_goes_back_to_the_last_good_checkpoint_at_half_the_learning_rate(
    small_config, poisoned_once, capsys
):
    config = dataclasses.replace(small_config, on_divergence="restore")
    train(config)
    printed = capsys.readouterr().out
    assert re.search(
        r"step 25: \S*generator/\S+ holds NaN or infinity; went back to the checkpoint of step 20",
        printed,
    )
    assert "with the learning rate halved to 0.0001" in printed
    # steps 21-25 were done again, logged once
    assert history_steps(config.output_dir) == list(range(5, 41, 5))
    trainer = build_trainer(resolve(config, distribute.make_strategy()))
    trainer.checkpoint().read(
        os.path.join(config.output_dir, "checkpoints", "ckpt-40")
    ).expect_partial()
    # dense trains at 2e-4: halved once
    assert trainer.learning_rates() == pytest.approx((1e-4, 1e-4))
    assert float(trainer.learning_rate_scale.numpy()) == 0.5  # and the halving is kept for a resume
    generator = keras.models.load_model(
        os.path.join(config.output_dir, "generator.keras"), safe_mode=True, compile=False
    )
    assert all(np.isfinite(weight).all() for weight in generator.get_weights())


def _flip_middle_byte(path):
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))


def _lambda_model(path):
    """A .keras file whose model runs Python code when loaded unsafely (a Lambda layer)."""
    noise, label = keras.Input((64,)), keras.Input((), dtype="int32")
    keras.Model([noise, label], keras.layers.Lambda(lambda x: x * 2)(noise)).save(path)


CHECKPOINT = f"checkpoints/ckpt-{STEPS}"
TAMPERED = [
    # (name, what is done to a copy of a finished run, extra arguments, texts the error holds)
    (
        "checkpoint_data_truncated",
        lambda run: os.truncate(run / f"{CHECKPOINT}.data-00000-of-00001", 1000),
        [f"--steps={STEPS + 20}"],
        [
            "cannot resume from",
            f"ckpt-{STEPS}",
            "Read less bytes than requested",
            f"delete ckpt-{STEPS}.* to resume from the checkpoint before it",
        ],
    ),
    (
        "checkpoint_data_byte_flipped",
        lambda run: _flip_middle_byte(run / f"{CHECKPOINT}.data-00000-of-00001"),
        [f"--steps={STEPS + 20}"],
        ["cannot resume from", "Checksum does not match"],
    ),
    (
        "checkpoint_index_truncated",
        lambda run: os.truncate(run / f"{CHECKPOINT}.index", 30),
        [f"--steps={STEPS + 20}"],
        ["cannot resume from", "too short"],
    ),
    (
        "checkpoint_list_garbled",
        lambda run: (run / "checkpoints" / "checkpoint").write_text("garbage {{"),
        [f"--steps={STEPS + 20}"],
        ["holds checkpoint files but no readable list of them", "--overwrite"],
    ),
    (
        "run_json_truncated",
        lambda run: os.truncate(run / "run.json", 20),
        [f"--steps={STEPS + 20}"],
        ["run.json is not readable JSON", "--overwrite"],
    ),
    (
        "generator_truncated",
        lambda run: os.truncate(run / "generator.keras", 5000),
        ["--mode=generate"],
        ["cannot load", "generator.keras: not a whole .keras (zip) file"],
    ),
    (
        "generator_runs_code",
        lambda run: _lambda_model(run / "generator.keras"),
        ["--mode=generate"],
        ["cannot load", "Lambda", "arbitrary code execution"],
    ),
]


@pytest.mark.parametrize(
    "name, tamper, extra, expected", TAMPERED, ids=[case[0] for case in TAMPERED]
)
def test_a_truncated_or_tampered_run_file_is_refused_in_one_line(
    runs, tmp_path, capfd, name, tamper, extra, expected
):
    copy = tmp_path / "run"
    shutil.copytree(runs.out.first, copy)
    tamper(copy)
    before = snapshot(copy)
    # determinism would stay on in this process
    args = train_args(copy, runs.dataset, deterministic=False)
    assert_refused(run_in_process(capfd, *args, *extra), copy, before, *expected)


def test_deleting_a_broken_checkpoint_resumes_from_the_one_before(runs, tmp_path, capfd):
    copy = tmp_path / "run"
    shutil.copytree(runs.out.first, copy)
    for path in (copy / "checkpoints").glob(f"ckpt-{STEPS}.*"):
        path.unlink()
    before = history.read(str(copy / "history.csv"))
    result = run_in_process(capfd, *train_args(copy, runs.dataset, deterministic=False))
    assert result.returncode == 0, result.stderr
    assert (
        f"resuming from {copy}/checkpoints/ckpt-{STEPS - CHECKPOINT_EVERY}: "
        "the newest listed checkpoint whose files exist" in result.stdout
    )
    assert listed_checkpoints(copy) == [20, 30, 40]
    assert history_steps(copy) == list(range(LOG_EVERY, STEPS + 1, LOG_EVERY))
    resumed_from = STEPS - CHECKPOINT_EVERY  # its rows so far are kept as they were: no restart
    kept = [row for row in before if int(row["step"]) <= resumed_from]
    assert len(kept) == resumed_from // LOG_EVERY
    assert history.read(str(copy / "history.csv"))[: len(kept)] == kept


def test_a_folder_holding_a_run_with_another_seed_is_refused_unless_overwrite(
    runs, tmp_path, capfd
):
    copy = tmp_path / "run"
    shutil.copytree(runs.out.first, copy)
    (copy / "notes.txt").write_text("mine")
    before = snapshot(copy)
    args = train_args(copy, runs.dataset, deterministic=False)
    assert_refused(
        run_in_process(capfd, *args, "--seed=1"),
        copy,
        before,
        "holds a run trained with seed=0, not 1",
        "give --overwrite to start over",
    )

    result = run_in_process(capfd, *args, "--seed=1", "--steps=10", "--overwrite")
    assert result.returncode == 0, result.stderr
    assert RunFiles(str(copy)).saved_config()["seed"] == 1
    assert listed_checkpoints(copy) == [0, 10] and history_steps(copy) == [5, 10]  # started over
    assert (copy / "notes.txt").read_text() == "mine"  # not a file the run wrote


def test_history_drops_a_half_written_row_and_rows_after_the_resume_step(tmp_path):
    path = tmp_path / "history.csv"
    full = ",".join(["1"] * len(history.COLUMNS))
    path.write_text(
        ",".join(history.COLUMNS)
        + "\n"
        + "\n".join(
            [
                full.replace("1", "10", 1),
                full.replace("1", "20", 1),
                full.replace("1", "30", 1),
                "4",
            ]
        )
        + "\n"
    )
    kept = history.History(str(path), resume_step=20)
    assert [row["step"] for row in history.read(str(path))] == ["10", "20"]
    kept.append(dict(step=30, d_loss=0.5))
    assert [row["step"] for row in history.read(str(path))] == ["10", "20", "30"]
    assert os.listdir(tmp_path) == [
        "history.csv"
    ]  # rewritten through a temporary name, nothing left beside


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary_one(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(str(path)) as tmp:
        with open(tmp, "w") as f:
            f.write("half")
        raise RuntimeError("crash while writing")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["metrics.json"]


def test_checkpoint_files_the_list_does_not_name_are_deleted(tmp_path):
    """A process killed between listing its new save and sweeping the oldest one leaves the
    oldest half-deleted (its .index gone, its .data kept) and still listed; one killed mid-save
    leaves a newer, unlisted one. The next start drops both and keeps the listed, whole ones."""
    import tensorflow as tf

    folder = tmp_path / "checkpoints"
    manager = tf.train.CheckpointManager(
        tf.train.Checkpoint(step=tf.Variable(0)), str(folder), max_to_keep=4
    )
    for step in (0, 10, 20):
        manager.save(checkpoint_number=step)
    (folder / "ckpt-0.index").unlink()  # the sweep's first deletion, then the kill
    (folder / "ckpt-30_temp").mkdir()  # a save cut short
    (folder / "ckpt-30.index").write_bytes(b"cut short")

    kept = checkpoints.open_manager(tf.train.Checkpoint(step=tf.Variable(0)), str(folder), keep=3)
    assert [checkpoints.checkpoint_step(path) for path in kept.checkpoints] == [10, 20]
    assert sorted(os.listdir(folder)) == ["checkpoint"] + [
        f"ckpt-{step}.{part}" for step in (10, 20) for part in ("data-00000-of-00001", "index")
    ]


def test_a_run_from_before_a_recipe_field_existed_counts_as_trained_with_its_default(tmp_path):
    old = resolve(Config(mode_seeking=0.0, output_dir=str(tmp_path)))
    recipe = dataclasses.asdict(old.recipe)
    del recipe["mode_seeking"]  # a run.json written before the field was added
    write_json(
        old.files.config, dict(dataclasses.asdict(old.config), train_digit=None, recipe=recipe)
    )
    check_same_model(old, training=True)  # the default, 0: what the run trained with
    with pytest.raises(CganError, match="holds a run trained with mode_seeking=0.0, not 0.3"):
        check_same_model(resolve(Config(output_dir=str(tmp_path))), training=True)
