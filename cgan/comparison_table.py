"""The comparison's table: the figures of each arm's row from its scores, their mean and spread
over seeds, and the Markdown and CSV they are written as (cgan.modes.compare makes the rows)."""

import csv
import math

import numpy as np

from cgan import metric_registry, scores
from cgan.files import atomic_path

# (CSV column, Markdown heading, format): the figures of the table, left to right
COLUMNS = (
    ("parameters", "parameters (G + D)", "{:,.0f}"),
    ("images_per_second", "images/s", "{:,.0f}"),
    ("seconds", "wall s", "{:,.0f}"),
    ("fid", "FID", "{:.3g}"),
    ("inception_score", "IS", "{:.3g}"),
    ("kid", "KID", "{:.3g}"),
    ("precision", "precision", "{:.3f}"),
    ("recall", "recall", "{:.3f}"),
    ("accuracy", "accuracy", "{:.3f}"),
    ("digits_covered", "classes covered", "{:.3g}"),
)


def columns():
    """COLUMNS, then one per registered metric (cgan.register_metric)."""
    return COLUMNS + tuple((m.name, m.name, "{:.4g}") for m in metric_registry.registered())


def digits_covered(judged):
    """How many classes make up at least scores.RARE_FRACTION of their balanced share of the
    judged samples (5% for ten): from the coverage of unconditional samples, or from the
    confusion matrix's columns of labelled ones."""
    if "coverage" in judged:
        shares = np.asarray(judged["coverage"])
    else:
        matrix = np.asarray(judged["confusion_matrix"])
        shares = matrix.sum(axis=0) / max(matrix.sum(), 1)
    return int(np.sum(shares >= scores.RARE_FRACTION / len(shares)))


def figures(judged, parameters=math.nan, images_seen=math.nan, seconds=math.nan):
    """One table row's figures (COLUMNS keys) from judge scores and a run's size and speed; NaN
    for what does not apply (accuracy of unconditional samples, speed of real digits)."""
    return dict(
        parameters=parameters,
        images_per_second=images_seen / seconds if seconds else math.nan,
        seconds=seconds,
        fid=judged["fid"],
        inception_score=judged["inception_score"],
        kid=judged["kid"],
        precision=judged["precision"],
        recall=judged["recall"],
        accuracy=judged.get("accuracy", math.nan),
        digits_covered=digits_covered(judged),
        **{m.name: judged.get(m.name, math.nan) for m in metric_registry.registered()},
    )


def mean_and_spread(rows):
    """{column: (mean, sample standard deviation)} over the seeds' figure dicts; the spread is
    NaN for a single seed (nothing to spread) and NaNs stay NaN (a figure that does not apply)."""
    summary = {}
    for name, _, _ in columns():
        values = np.array([row[name] for row in rows], np.float64)
        spread = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
        summary[name] = (float(np.mean(values)), spread)
    return summary


def table_rows(arms, floor, floor_label):
    """[(label, number of seeds, {column: (mean, spread)})]: each arm (and its raw generator when
    it averages weights), then the real-data floor."""
    rows = []
    for arch, runs in arms.items():
        rows.append((arch, len(runs), mean_and_spread([run["figures"] for run in runs])))
        if all("raw_figures" in run for run in runs):
            rows.append(
                (
                    f"{arch} (raw G)",
                    len(runs),
                    mean_and_spread([run["raw_figures"] for run in runs]),
                )
            )
    rows.append((floor_label, None, mean_and_spread([figures(floor)])))
    return rows


def _cell(fmt, mean, spread):
    if math.isnan(mean):
        return "–"
    negligible = math.isnan(spread) or spread <= 1e-9 * abs(
        mean
    )  # one seed, or the same figure up to round-off
    return fmt.format(mean) + ("" if negligible else " ± " + fmt.format(spread))


def markdown_table(rows, note=""):
    """The table in Markdown: "mean ± std" cells over seeds (the spread left out when it is nil,
    as for the parameters), "–" where a figure does not apply."""
    lines = [
        "| arm | seeds | " + " | ".join(title for _, title, _ in columns()) + " |",
        "|---|---:|" + "---:|" * len(columns()),
    ]
    for label, count, summary in rows:
        cells = [_cell(fmt, *summary[name]) for name, _, fmt in columns()]
        lines.append(f"| {label} | {'' if count is None else count} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + (f"\n\n{note}\n" if note else "\n")


def write_csv(rows, path):
    """The table as CSV: arm, seeds, then each figure's mean and its spread (<name>_std); empty
    when NaN."""
    header = ["arm", "seeds"] + [
        f"{name}{suffix}" for name, _, _ in columns() for suffix in ("", "_std")
    ]

    def number(value):
        return "" if math.isnan(value) else f"{value:.10g}"  # 10 digits: plenty, and no float noise

    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for label, count, summary in rows:
            writer.writerow(
                [label, "" if count is None else count]
                + [number(v) for name, _, _ in columns() for v in summary[name]]
            )


def row_data(row):
    """A table row as Python data: {"arm", "seeds", each figure, each figure's "<name>_spread"}."""
    label, seeds, summary = row
    data = dict(arm=label, seeds=seeds)
    for name, (mean, spread) in summary.items():
        data.update({name: mean, f"{name}_spread": spread})
    return data
