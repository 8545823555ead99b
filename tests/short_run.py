"""The README's two commands on a short MNIST run, as one job (processes.AfterJudge) that two
modules name: tests/test_front_doors.py reads what the commands print and draw, and
tests/test_run_integration.py checks the run's every output and trains it on in-process.

A module lists it in its after_judge_jobs as {NAME: job(folder, data_dir, mnist_dir)}; its
fixture named NAME gets the job's result, and the run is in folder_of(that result)."""

import os
import sys

from conftest import REPO
from processes import job as command_job

NAME = "readme_commands"
STEPS, BATCH, LOG_EVERY, EVAL_SAMPLES = 200, 32, 25, 500


def _run(arguments, name):
    """A shell step: run.py with `arguments`, its output in <name>.out and <name>.err."""
    quoted = " ".join(f"'{a}'" for a in [sys.executable, os.path.join(REPO, "run.py"), *arguments])
    return f"{quoted} > {name}.out 2> {name}.err"


def job(folder, data_dir, mnist_dir):
    """`python run.py --arch=cgan --digit=7`, then the same without --digit (a reuse), on a short
    run scored once at its end; their output in first.out/.err and second.out/.err."""
    short = ["--arch=cgan", f"--steps={STEPS}", f"--batch_size={BATCH}", "--verbose=false"]
    short += [f"--log_every={LOG_EVERY}", "--eval_every=1", f"--eval_samples={EVAL_SAMPLES}"]
    short += [f"--output_dir={folder / 'short'}", f"--mnist_dir={mnist_dir}"]
    short += [f"--data_dir={data_dir}"]
    steps = [_run([*short, "--digit=7"], "first"), _run(short, "second")]
    # first: the integration module's in-process tests go on from it
    return command_job(["sh", "-c", " && ".join(steps)], timeout=600, first=True)


def folder_of(result):
    """The run folder of the job's `result` (AfterJudge.result)."""
    return result.folder.parent / "short"
