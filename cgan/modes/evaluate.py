"""Evaluate mode: scores a run, a generator file or an .npz of samples with the judge, beside
the real-data floor."""

import os

from cgan import sampling, scores
from cgan.context import resolve
from cgan.files import locked_folder, write_json
from cgan.judge import load_judge
from cgan.plotting import save_confusion_matrix_png
from cgan.reopen import has_raw_generator, opened


def evaluate(config, judge=None):
    """Scores a trained run (or --generator's file, or --samples FILE.npz) with the judge (loaded
    if not given), beside the real-data floor.

    A run trained with EMA is scored twice: the averaged generator (the main figures) and
    the raw one (under the key "raw"). Writes metrics.json (and confusion_matrix.png when
    labels are known) and returns (metrics, paths written). The scores of --samples F.npz go
    beside F, or into --output_dir when it is given.
    """
    if config.generator:
        context, generator = opened(config)
        os.makedirs(context.files.dir, exist_ok=True)
        samples = sampling.sample_set(context, generator.model, config.eval_samples, digit=None)
        return _score(
            context, judge, samples, None, context.files.metrics, context.files.confusion_matrix
        )
    context = resolve(config)
    if config.samples:
        samples = sampling.read_samples(config.samples, context.spec)
        stem = os.path.splitext(os.path.basename(config.samples))[0]
        folder = config.output_dir or os.path.dirname(config.samples)
        os.makedirs(folder or ".", exist_ok=True)
        paths = [
            os.path.join(folder, f"{stem}.{name}")
            for name in ("metrics.json", "confusion_matrix.png")
        ]
        return _score(context, judge, samples, None, *paths)
    files = context.files
    with locked_folder(files.dir):  # not while a run replaces the generator
        context, generator = opened(config)
        samples = sampling.sample_set(context, generator.model, config.eval_samples, digit=None)
        raw_samples = None
        if has_raw_generator(files.dir):
            _, raw = opened(config, raw=True)
            raw_samples = sampling.sample_set(context, raw.model, config.eval_samples, digit=None)
        return _score(context, judge, samples, raw_samples, files.metrics, files.confusion_matrix)


def _score(context, judge, samples, raw_samples, metrics_path, matrix_path):
    config = context.config
    # After the samples: a missing run fails before the judge loads.
    judge = judge or load_judge(context.source, verbose=int(config.verbose))
    metrics = scores.score(judge, *samples, progress=config.verbose)
    if raw_samples is not None:
        metrics["raw"] = scores.score(judge, *raw_samples, progress=config.verbose)
    metrics.update(
        dataset=config.dataset, judge_accuracy=judge.accuracy, floor=scores.real_floor(judge)
    )
    write_json(metrics_path, metrics)
    written = [metrics_path]
    if "confusion_matrix" in metrics:  # the samples had labels: a conditional model or a file
        save_confusion_matrix_png(
            metrics["confusion_matrix"], matrix_path, context.spec.class_names
        )
        written.append(matrix_path)
    return metrics, written
