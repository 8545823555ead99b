"""Evaluate mode: scores a finished run (or an .npz of samples) with the judge, beside the floor."""

import contextlib
import os

from cgan import sampling, scores
from cgan.context import resolve
from cgan.files import locked_folder, write_json
from cgan.judge import load_judge
from cgan.modes.generate import load_generator
from cgan.plotting import save_confusion_matrix_png


def evaluate(config, judge=None):
    """Scores a trained run (or --samples FILE.npz) with the judge (loaded if not given), beside
    the real-data floor.

    A run trained with EMA is scored twice: the averaged generator (the main figures) and
    the raw one (under the key "raw"). Writes metrics.json (and confusion_matrix.png when
    labels are known) and returns (metrics, paths written).
    """
    context = resolve(config)
    folder = None if config.samples else context.files.dir
    with (
        contextlib.nullcontext() if folder is None else locked_folder(folder)
    ):  # not while a run replaces G
        return _evaluate(context, judge)


def _evaluate(context, judge):
    config, files = context.config, context.files
    raw_samples = None
    if config.samples:
        samples = sampling.read_samples(config.samples, context.spec)
        stem = os.path.splitext(config.samples)[0]
        metrics_path, matrix_path = f"{stem}.metrics.json", f"{stem}.confusion_matrix.png"
    else:
        samples = sampling.sample_set(
            context, load_generator(context), config.eval_samples, digit=None
        )
        if os.path.exists(files.raw_generator):
            generator = load_generator(context, raw=True)
            raw_samples = sampling.sample_set(context, generator, config.eval_samples, digit=None)
        metrics_path, matrix_path = files.metrics, files.confusion_matrix
    judge = judge or load_judge(
        context.source
    )  # after the samples: a missing run fails before the judge loads
    metrics = scores.score(judge, *samples)
    if raw_samples is not None:
        metrics["raw"] = scores.score(judge, *raw_samples)
    metrics.update(
        dataset=config.dataset, judge_accuracy=judge.accuracy, floor=scores.real_floor(judge)
    )
    write_json(metrics_path, metrics)
    written = [metrics_path]
    if (
        "confusion_matrix" in metrics
    ):  # the samples had labels: a conditional model or a labelled file
        save_confusion_matrix_png(
            metrics["confusion_matrix"], matrix_path, context.spec.class_names
        )
        written.append(matrix_path)
    return metrics, written
