"""Scores of a set of samples by the judge: every figure as JSON-ready data, the real-data floor
beside which every figure is read, and the plain-text table of both."""

import json
import os

import numpy as np

from cgan import data, metric_registry
from cgan.files import write_json
from cgan.history import QUALITY_COLUMNS
from cgan.judge import corrupt_cache
from cgan.metrics import (
    KID_SUBSET_SIZE,
    KID_SUBSETS,
    PR_NEIGHBOURS,
    conditional_accuracy,
    confusion_matrix,
    coverage,
    frechet_distance,
    inception_score,
    kernel_inception_distance,
    precision_recall,
)

# A class predicted less than this share of its balanced share 1/K counts as (nearly) dropped:
# 5% for ten digits. (The key keeps the name digits_below_5_percent for every K.)
RARE_FRACTION = 0.5


def score(judge, images, labels=None, reference_features=None, progress=False):
    """Every metric for a set of uint8 images, as a JSON-ready dict.

    Always: num_images, fid, inception_score, kid, kid_std, precision, recall (against
    `reference_features`, by default the judge's training reference). With labels (the
    digits that were requested): accuracy, per_digit_accuracy, confusion_matrix (rows
    requested, columns judged). Without: coverage (share judged as each digit) and
    digits_below_5_percent. With `progress`, a progress bar while the judge reads the images.
    """
    if reference_features is None:
        reference, radii, kid_part = (
            judge.reference_features,
            judge.reference_radii,
            judge.reference_kid,
        )
    else:
        reference, radii, kid_part = np.asarray(reference_features), None, None
    probabilities, features = judge.predict_both(images, progress=progress)
    kid, kid_std = kernel_inception_distance(reference, features, prepared_a=kid_part)
    precision, recall = precision_recall(reference, features, real_radii=radii)
    result = dict(
        num_images=len(features),
        fid=frechet_distance(reference, features),
        inception_score=inception_score(probabilities),
        kid=kid,
        kid_std=kid_std,
        precision=precision,
        recall=recall,
    )
    if labels is not None:
        overall, per_digit = conditional_accuracy(probabilities, labels)
        matrix = confusion_matrix(labels, probabilities.argmax(axis=1), probabilities.shape[1])
        result.update(
            accuracy=overall,
            per_digit_accuracy=[None if np.isnan(value) else float(value) for value in per_digit],
            confusion_matrix=matrix.tolist(),
        )
    else:
        shares = coverage(probabilities)
        rare = shares < RARE_FRACTION / len(shares)
        result.update(coverage=shares.tolist(), digits_below_5_percent=int(np.sum(rare)))
    result.update(metric_registry.compute(images, labels, judge))
    return result


def real_floor(judge):
    """score() of the real test images with their true labels (MNIST: 10,000 digits): what a
    perfect generator gets.

    Computed once and cached as floor.json in the judge folder (it is reused while the
    score settings it was computed with are unchanged).
    """
    path = os.path.join(judge.folder, "floor.json")
    settings = dict(
        k=PR_NEIGHBOURS,
        kid="whole sets",  # floors cached when KID was a mean over subsets are recomputed
        kid_subsets=KID_SUBSETS,
        kid_subset_size=KID_SUBSET_SIZE,
    )
    names = [metric.name for metric in metric_registry.registered()]
    if names:  # a floor cached without a registered metric is computed again with it
        settings["metrics"] = names
    if os.path.exists(path):
        try:
            with open(path) as handle:
                cached = json.load(handle)
        except (OSError, ValueError) as error:
            raise corrupt_cache(path, error) from None
        if cached.get("settings") == settings:
            return cached["scores"]
    images, labels = data.load_arrays("test", judge.source)
    scores = score(judge, images, labels)
    write_json(path, dict(settings=settings, scores=scores))
    return scores


def quality_scalars(scores):
    """The figures history.csv keeps over time: FID, IS, and accuracy or digit coverage, and
    every registered metric."""
    names = list(QUALITY_COLUMNS) + [metric.name for metric in metric_registry.registered()]
    return {name: float(scores[name]) for name in names if name in scores}


def metrics_table(metrics):
    """A plain-text table: each figure beside the same figure for real held-out images (and,
    for a run with EMA, beside the raw generator's)."""
    rows = [
        ("FID", "fid"),
        ("Inception Score", "inception_score"),
        ("KID", "kid"),
        ("precision", "precision"),
        ("recall", "recall"),
    ]
    rows.append(
        ("accuracy", "accuracy")
        if "accuracy" in metrics
        else ("digits below 5%", "digits_below_5_percent")
    )
    rows += [(metric.name, metric.name) for metric in metric_registry.registered()]
    columns = [("samples", metrics)]
    if "raw" in metrics:
        columns = [("EMA G", metrics), ("raw G", metrics["raw"])]
    columns.append(("real images", metrics["floor"]))
    lines = [f"{'metric':<17}" + "".join(f"{title:>14}" for title, _ in columns)]
    for title, key in rows:
        lines.append(
            f"{title:<17}"
            + "".join(f"{source.get(key, float('nan')):>14.4g}" for _, source in columns)
        )
    lines.append(
        f"(judge: {metrics['judge_accuracy']:.2%} accurate on the "
        f"{metrics.get('dataset', 'mnist')} test set; {metrics['num_images']} samples scored)"
    )
    return "\n".join(lines)
