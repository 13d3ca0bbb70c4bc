"""Altair chart builders for the chapters, and the book's offline renderer.

In the built book every chart is interactive Vega drawn by one shared local bundle
(`_static/vega-bundle.js`, written by vl-convert and loaded by every page through Sphinx's
`html_js_files`), so the charts show with the network off. `use_book_renderer()` switches
Altair to emit just a div and a call to that bundle; outside the book (JupyterLab) Altair's
own renderer is left alone.
"""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd

from .fileio import ensure_file
from .measures import halves

BUNDLE_NAME = "vega-bundle.js"
WIDTH = 520
FACET_W = 190  # each panel of a faceted chart: two or three fit the page


def write_vega_bundle(static_dir: Path) -> Path:
    """One copy of vega, vega-lite and vega-embed for the whole book (no CDN), verified before
    reuse: a bundle truncated by a kill would silently stop every chart from drawing."""
    def make() -> bytes:
        import vl_convert as vlc
        # Wrapped in a function: the bundle's top-level names (`_`, ...) would clash with
        # Sphinx's own globals (underscore.js) in a classic script.
        return ("(function () {\n" + vlc.javascript_bundle() + "\n})();\n").encode()
    return ensure_file(Path(static_dir) / BUNDLE_NAME, make)


def _book_renderer(spec: dict, **_) -> dict:
    div = f"vis-{uuid.uuid4().hex[:12]}"
    html = (f'<div id="{div}" class="fraglib-chart"></div>\n<script type="text/javascript">\n'
            f'(function() {{\n  var spec = {json.dumps(spec)};\n'
            f'  function draw() {{ vegaEmbed("#{div}", spec, {{"actions": false}}); }}\n'
            f'  if (window.vegaEmbed) {{ draw(); }} else {{ window.addEventListener("load", draw); }}\n'
            f'}})();\n</script>')
    return {"text/html": html}


alt.renderers.register("fraglib-book", _book_renderer)


def use_book_renderer(force: bool = False) -> None:
    """Render charts for the static book (set by `python -m fraglib book` via FRAGLIB_BOOK=1)."""
    if force or os.environ.get("FRAGLIB_BOOK") == "1":
        alt.renderers.enable("fraglib-book")
    alt.data_transformers.disable_max_rows()


# -- data frames from a run's measures -------------------------------------------------------

def long_frame(matrix, row: str, col: str, value: str, **const) -> pd.DataFrame:
    """A (rows x cols) matrix as a long frame: one row per cell, plus constant columns."""
    m = np.asarray(matrix, dtype=float)
    r, c = np.indices(m.shape)
    df = pd.DataFrame({row: r.ravel(), col: c.ravel(), value: m.ravel()})
    for k, v in const.items():
        df[k] = v
    return df


MODELS = ("balanced-trained", "imbalanced-trained")


def per_model(make, balanced, imbalanced) -> pd.DataFrame:
    """The frames of both runs of a pair joined: `make(model, values)` gives one run's frame (or a
    list of frames), `model` its name as the charts show it."""
    frames = []
    for model, values in zip(MODELS, (balanced, imbalanced)):
        out = make(model, values)
        frames.extend(out if isinstance(out, list) else [out])
    return pd.concat(frames, ignore_index=True)


# -- charts ------------------------------------------------------------------------------------

def _with_error_bars(chart: alt.Chart, df: pd.DataFrame, x, color) -> alt.Chart:
    """Layer a 95% bootstrap interval (columns lo, hi; null where there is none) under a chart."""
    if "lo" not in df.columns:
        return chart
    rules = alt.Chart(df).mark_rule(opacity=0.6).encode(x=x, y="lo:Q", y2="hi:Q", color=color)
    return alt.layer(rules, chart)


def accuracy_lines(df: pd.DataFrame, title: str = "") -> alt.Chart:
    """Fig. 2: train and test accuracy per class, with the class's share of n_max; bars: 95%
    bootstrap intervals. df columns: class, split (train|test|imbalance), value, model, lo, hi."""
    x = alt.X("class:O", title="class (0 = majority)")
    color = alt.Color("split:N", scale=alt.Scale(domain=["train", "test", "n_c / n_max"],
                                                 range=["#1f77b4", "#2ca02c", "#d62728"]))
    line = alt.Chart(df).mark_line(point=True).encode(
        x=x, y=alt.Y("value:Q", title="accuracy / n_c ÷ n_max", scale=alt.Scale(domain=[0, 1])), color=color,
        tooltip=["model", "class", "split", alt.Tooltip("value:Q", format=".3f")])
    return _with_error_bars(line, df, x, color).properties(width=FACET_W, height=220).facet(
        column=alt.Column("model:N", title=None), title=title)


def grouped_bars(df: pd.DataFrame, x: str, y: str, color: str, title: str, y_title: str,
                 fmt: str = ".3f") -> alt.Chart:
    """Bars grouped by `x`, one per `color`; with columns lo, hi, their 95% bootstrap intervals."""
    xe = alt.X(f"{color}:N", title=None, axis=alt.Axis(labels=False, ticks=False))
    bars = alt.Chart(df).mark_bar().encode(
        x=xe, y=alt.Y(f"{y}:Q", title=y_title), color=alt.Color(f"{color}:N", title=None),
        tooltip=[x, color, alt.Tooltip(f"{y}:Q", format=fmt)])
    layered = bars
    if "lo" in df.columns:
        layered = alt.layer(bars, alt.Chart(df).mark_rule(color="black").encode(x=xe, y="lo:Q", y2="hi:Q"))
    return layered.properties(width=90, height=240).facet(
        column=alt.Column(f"{x}:N", title=None, header=alt.Header(labelOrient="bottom")), title=title)


def _lines(df, x, x_title, y, y_title, color, title, facet, y_domain) -> alt.Chart:
    """Lines with points, optionally faceted into columns; the shared body of the two below."""
    scale = alt.Scale(domain=y_domain) if y_domain else alt.Undefined
    xe = alt.X(x, title=x_title)
    chart = alt.Chart(df).mark_line(point=True).encode(
        x=xe, y=alt.Y(f"{y}:Q", title=y_title, scale=scale), color=color,
        tooltip=[x.split(":")[0], color.shorthand.split(":")[0], alt.Tooltip(f"{y}:Q", format=".3f")],
    )
    chart = _with_error_bars(chart, df, xe, color).properties(width=FACET_W if facet else WIDTH - 120,
                                                               height=220)
    if facet:
        return chart.facet(column=alt.Column(f"{facet}:N", title=None), title=title)
    return chart.properties(title=title)


def class_lines(df: pd.DataFrame, x: str, y: str, title: str, x_title: str, y_title: str,
                facet: str | None = "model", y_domain=None) -> alt.Chart:
    """One line per class (Figs. 3-8 and 10): x a rank or K, y a ratio or magnitude."""
    color = alt.Color("class:O", scale=alt.Scale(scheme="viridis"), title="class")
    return _lines(df, f"{x}:O", x_title, y, y_title, color, title, facet, y_domain)


def by_class(df: pd.DataFrame, y: str, color: str, title: str, y_title: str, facet: str | None = None,
             y_domain=None) -> alt.Chart:
    """Lines over the class index (Fig. 3: one line per K; Fig. 9: one per model)."""
    return _lines(df, "class:O", "class (0 = majority)", y, y_title, alt.Color(f"{color}:N", title=color),
                  title, facet, y_domain)


def heatmap(df: pd.DataFrame, x: str, y: str, value: str, title: str, x_title: str,
            text: str | None = None) -> alt.Chart:
    base = alt.Chart(df, title=title).encode(
        x=alt.X(f"{x}:O", title=x_title), y=alt.Y(f"{y}:O", title="class"))
    chart = base.mark_rect().encode(
        color=alt.Color(f"{value}:Q", scale=alt.Scale(scheme="blues")),
        tooltip=[y, x, alt.Tooltip(f"{value}:Q", format=".3f")] + ([text] if text else []))
    if text:
        chart = chart + base.mark_text(fontSize=9).encode(text=f"{text}:N")
    return chart.properties(width=WIDTH - 120, height=240)


def paper_bars(ours, paper, label: str, rows: dict, y_title: str, title: str = "") -> alt.Chart:
    """Bars of our scalar figures (with their 95% bootstrap intervals) beside the paper's (where it
    reports them; `label` says whose), one group per field (`rows`: field -> name)."""
    recs = []
    for field, name in rows.items():
        lo, hi = ours.interval(field) or (None, None)
        recs.append({"figure": name, "value": getattr(ours, field), "source": "ours", "lo": lo, "hi": hi})
        if getattr(paper, field) is not None:
            recs.append({"figure": name, "value": getattr(paper, field), "source": label, "lo": None, "hi": None})
    return grouped_bars(pd.DataFrame(recs), x="figure", y="value", color="source", title=title,
                        y_title=y_title, fmt=".2f")


def per_class(df: pd.DataFrame, y_title: str, color: str = "model", y_domain=None, title: str = "",
              facet: str | None = None) -> alt.Chart:
    """A per-class line chart from a frame with columns class, value, and `color` (and `facet`)."""
    return by_class(df, y="value", color=color, title=title, y_title=y_title, facet=facet, y_domain=y_domain)


def accuracy_frame(figs) -> pd.DataFrame:
    """Fig. 2's frame from an `RQ2`: per class, train and test accuracy (0-1) with their 95%
    bootstrap intervals (lo, hi), and n_c / n_max."""
    counts = np.asarray(figs.train_counts, dtype=float)

    def frames(model, prefix):
        out = []
        for split in ("train", "test"):
            name = f"{prefix}{split}_class_acc"
            values = np.asarray(getattr(figs, name)) / 100
            lo, hi = (np.asarray(v) / 100 for v in figs.interval(name)) if name in figs.boot else (np.nan, np.nan)
            out.append(pd.DataFrame({"class": range(len(values)), "value": values, "split": split,
                                     "model": model, "lo": lo, "hi": hi}))
        share = np.ones_like(counts) if prefix else counts / counts.max()
        return out + [pd.DataFrame({"class": range(len(counts)), "value": share, "split": "n_c / n_max",
                                    "model": model})]
    return per_model(frames, "bal_", "")


def size_matched_frame(figs) -> pd.DataFrame:
    """Fig. 9's frame with its size-matched control: per class, the features needed to describe
    it in both runs (95% bootstrap intervals) and, for the imbalanced run, over n_min images
    drawn from each class (the minority's size; interval: the spread over draws)."""
    rows = [("balanced-trained", "bal_features_to_describe"), ("imbalanced-trained", "features_to_describe"),
            (f"imbalanced, {figs.n_matched} images per class", "features_to_describe_matched")]
    frames = []
    for model, name in rows:
        values = np.asarray(getattr(figs, name), dtype=float)
        lo, hi = figs.interval(name) if name in figs.boot else (np.nan, np.nan)
        frames.append(pd.DataFrame({"class": range(len(values)), "value": values, "model": model,
                                    "lo": lo, "hi": hi}))
    return pd.concat(frames, ignore_index=True)


def coverage_frame(figs) -> pd.DataFrame:
    """Fig. 3's frame from an `RQ3`: class top-K coverage per class, K and model."""
    def frames(model, cov):
        cov = np.asarray(cov)
        return [pd.DataFrame({"class": range(len(cov)), "coverage": cov[:, j], "K": f"K={k}", "model": model})
                for j, k in enumerate(figs.coverage_ks)]
    return per_model(frames, figs.bal_class_coverage, figs.class_coverage)


def coverage_curve(figs, k_max: int = 24) -> alt.Chart:
    """Top-K coverage of all training predictions against K, both runs."""
    df = per_model(lambda m, c: pd.DataFrame({"K": range(1, len(c) + 1), "coverage": c, "model": m}),
                   figs.bal_coverage_all, figs.coverage_all)
    return alt.Chart(df[df.K <= k_max]).mark_line(point=True).encode(
        x=alt.X("K:O"), y=alt.Y("coverage:Q", scale=alt.Scale(domain=[0, 1])), color="model:N",
        tooltip=["model", "K", alt.Tooltip("coverage:Q", format=".3f")]).properties(width=WIDTH - 120, height=220)


def ranked_frame(balanced, imbalanced) -> pd.DataFrame:
    """(C, n) sorted per-class values of both runs as a long frame: class, rank (from 1), value, model."""
    df = per_model(lambda m, v: long_frame(v, "class", "rank", "value", model=m), balanced, imbalanced)
    df["rank"] += 1
    return df


def share_frame(balanced, imbalanced) -> pd.DataFrame:
    """Fig. 6's frame: the share of the logit of each of the top ce, per class, rank and model."""
    def frames(model, share):
        share = np.asarray(share)
        return [pd.DataFrame({"class": range(len(share)), "share": share[:, r], "rank": f"#{r + 1}", "model": model})
                for r in range(share.shape[1])]
    return per_model(frames, balanced, imbalanced)


def member_heatmap(figs) -> alt.Chart:
    """Fig. 8: each class's ten most frequent top-K fe (index as text) and their coverage ratio."""
    ratio = long_frame(figs.fe_member_ratio, "class", "rank", "ratio")
    ratio["feature"] = np.asarray(figs.fe_members).ravel().astype(str)
    ratio["rank"] += 1
    return heatmap(ratio, x="rank", y="class", value="ratio", text="feature", title="",
                   x_title="rank (feature index shown)")


def alignment_lines(figs) -> alt.Chart:
    """Fig. 10: the ten largest class-mean fe in train, test TP and test FP, one panel each."""
    frames = []
    for values, name in ((figs.mu_train_top, "train"), (figs.mu_tp_top, "test TP"), (figs.mu_fp_top, "test FP")):
        df = long_frame(values, "class", "rank", "value", set=name)
        df["rank"] += 1
        frames.append(df)
    return class_lines(pd.concat(frames), x="rank", y="value", facet="set", title="", x_title="rank",
                       y_title="class-mean fe")


def overlap_frame(figs) -> pd.DataFrame:
    frames = [pd.DataFrame({"class": range(len(v)), "overlap": np.asarray(v, dtype=float), "set": s})
              for v, s in ((figs.fe_overlap_tp_by_class, "TP"), (figs.fe_overlap_fp_by_class, "FP"))]
    return pd.concat(frames, ignore_index=True).dropna()


def sampler_results(figs):
    """The EOS comparison: a table (test BAC %, size of the re-balanced set, seconds) and a bar chart."""
    rows = [{"sampler": r["sampler"], "test BAC (%)": 100 * r["bac"], "training fe": r["n_train"],
             "sampling s": r["sampling_seconds"], "head s": r["head_seconds"]} for r in figs.samplers]
    rows.append({"sampler": "end-to-end (phase 1 only)", "test BAC (%)": figs.e2e_bac})
    df = pd.DataFrame(rows)
    chart = alt.Chart(df).mark_bar().encode(
        x=alt.X("test BAC (%):Q", scale=alt.Scale(zero=False)), y=alt.Y("sampler:N", sort="-x", title=None),
        tooltip=["sampler", alt.Tooltip("test BAC (%):Q", format=".2f")]).properties(width=WIDTH - 160, height=160)
    table = df.set_index("sampler").style.format(precision=2, na_rep="–")
    return table, chart


def note(text: str) -> alt.Chart:
    """A chart that only says why there is nothing to draw (a glued figure must exist)."""
    return alt.Chart(pd.DataFrame({"note": [text]})).mark_text(fontSize=13).encode(
        text="note:N").properties(width=WIDTH - 120, height=40)


def eos_grid(figs) -> alt.Chart:
    """EOS phase 3's grid (`eos.grid`): per sampler (rows) and head (columns), every learning rate x
    epochs, coloured by validation BAC (what chooses the point), labelled with test BAC; the chosen
    point marked •, the fixed schedule °."""
    df = pd.DataFrame([{"sampler": r["sampler"], "head": r["phase3"], "lr": f"{r['lr']:g}", "epochs": r["epochs"],
                        "validation BAC (%)": 100 * r["val_bac"], "test BAC (%)": 100 * r["bac"],
                        "label": f"{100 * r['bac']:.1f}{' •' if r['chosen'] else ''}{' °' if r['fixed'] else ''}"}
                       for r in figs.grid])
    base = alt.Chart(df).encode(x=alt.X("epochs:O", title="epochs of phase 3"),
                                y=alt.Y("lr:O", title="learning rate", sort="descending"))
    cells = base.mark_rect().encode(
        color=alt.Color("validation BAC (%):Q", scale=alt.Scale(scheme="blues")),
        tooltip=["sampler", "head", "lr", "epochs", alt.Tooltip("validation BAC (%):Q", format=".1f"),
                 alt.Tooltip("test BAC (%):Q", format=".2f")])
    text = base.mark_text(fontSize=10).encode(text="label:N")
    return (cells + text).properties(width=150, height=90).facet(
        row=alt.Row("sampler:N", title=None, sort=list(dict.fromkeys(df["sampler"]))),
        column=alt.Column("head:N", title="phase 3's head"))


# -- the comparison pages: one key figure per research question, every configuration -------------
def verdict_scale() -> alt.Scale:
    """Every verdict kind its own colour, from the table of kinds (`verdicts.KINDS`)."""
    from .verdicts import ALL
    return alt.Scale(domain=[k.name for k in ALL], range=[k.colour for k in ALL])


def verdict_bars(allc: pd.DataFrame) -> alt.Chart:
    return alt.Chart(allc).mark_bar().encode(
        x=alt.X("count():Q", title="checks"), y=alt.Y("question:N"),
        color=alt.Color("verdict:N", scale=verdict_scale()),
        row=alt.Row("configuration:N", title=None),
        tooltip=["configuration", "question", "claim", "paper", "ours", "verdict"]).properties(width=420, height=140)


def multiverse_strip(cells: pd.DataFrame) -> alt.Chart:
    """Claims x specifications (multiverse.py): one row per claim, one cell per specification of
    the choices it depends on, coloured by the claim's verdict over the seeds there."""
    n = max(1, cells["claim"].nunique())
    return alt.Chart(cells).mark_square(size=160).encode(
        x=alt.X("specification:N", title="specification (the choices away from the default)", sort=None,
                axis=alt.Axis(labelAngle=-40, labelLimit=240)),
        y=alt.Y("claim:N", title=None, sort=None, axis=alt.Axis(labelLimit=420)),
        color=alt.Color("verdict:N", scale=verdict_scale(), title="verdict over seeds"),
        tooltip=["claim", "specification", "verdict"]).properties(width=alt.Step(26), height=22 * n)


def key_figure(spec, figs: dict) -> alt.Chart:
    """A question's key figure (`questions.KeyFigure`) with every configuration in it: one line per
    configuration over the classes, or grouped bars of scalar figures with their intervals."""
    if spec.per_class is not None:
        df = pd.concat([pd.DataFrame({"class": range(len(spec.per_class(f))),
                                      "value": np.asarray(spec.per_class(f), dtype=float), "configuration": label})
                        for label, f in figs.items()])
        return by_class(df, y="value", color="configuration", title="", y_title=spec.y_title)
    df = pd.DataFrame([{"figure": name, "value": getattr(f, field), "configuration": label,
                        **dict(zip(("lo", "hi"), f.interval(field) or (None, None)))}
                       for label, f in figs.items() for field, name in spec.bars])
    return grouped_bars(df, x="figure", y="value", color="configuration", title="", y_title=spec.y_title)


def ranked_lines(balanced, imbalanced, y_title: str) -> alt.Chart:
    """Figs. 4-5 and 7: each class's sorted top values, one panel per run."""
    return class_lines(ranked_frame(balanced, imbalanced), x="rank", y="value", title="", x_title="rank",
                       y_title=y_title)


def collapse_lines(figs) -> alt.Chart:
    """Minority Collapse along the ladder of ratios: the mean pairwise cosine among the minority
    classes' rows, among the majority's, and between the two groups, one panel per operand (W
    centred and raw, class-mean fe centred and raw)."""
    from .rq.collapse import LADDER_SERIES
    order = [f"{r:g}:1" for r in figs.ratios]
    frames = [pd.DataFrame({"ratio": order, "cosine": figs.ladder[f"{series}:{group}"],
                            "classes": {"minority": "among the minority classes", "majority": "among the majority",
                                        "between": "minority with majority"}[group], "operand": name})
              for series, name in LADDER_SERIES.items() for group in ("minority", "majority", "between")]
    return alt.Chart(pd.concat(frames, ignore_index=True)).mark_line(point=True).encode(
        x=alt.X("ratio:O", sort=order, title="step ratio (1:1 balanced)"),   # fits a panel: titles never overlap
        y=alt.Y("cosine:Q", title="mean cosine"), color=alt.Color("classes:N", title=None),
        tooltip=["operand", "ratio", "classes", alt.Tooltip("cosine:Q", format=".3f")],
    ).properties(width=FACET_W, height=180).facet(facet=alt.Facet("operand:N", title=None,
                                                                  sort=list(LADDER_SERIES.values())), columns=2)


def procrustean_curves(figs) -> alt.Chart:
    """Per epoch, for CE and Procrustean training (exponential imbalance), on the clean training
    images: the share of the minor classes' images predicted as a major class, the minor / major
    ratio of the mean fe-gradient norm, and the spread of per-class accuracy; beside them the
    spread on the training batches (mixed, for Procrustean), where mixing lowers it by construction."""
    major, minor = halves(figs.curves["ce_exp:clean_major_share"].shape[1])
    frames = []
    for method, name in (("cross-entropy", "ce_exp"), ("Procrustean", "pt_exp")):
        c = {k: figs.curves[f"{name}:{k}"] for k in ("clean_major_share", "clean_fe_grad_norm", "clean_class_acc",
                                                      "train_class_acc_augmented")}
        panels = {"minor images predicted major (clean)": c["clean_major_share"][:, minor].mean(1),
                  "minor / major |dL/dfe| (clean)": c["clean_fe_grad_norm"][:, minor].mean(1)
                  / np.maximum(c["clean_fe_grad_norm"][:, major].mean(1), 1e-12),
                  "spread of class accuracy (clean)": c["clean_class_acc"].std(1),
                  "spread of class accuracy (training batches)": c["train_class_acc_augmented"].std(1)}
        for panel, values in panels.items():
            frames.append(pd.DataFrame({"epoch": np.arange(1, len(values) + 1), "value": values,
                                        "training": method, "panel": panel}))
    df = pd.concat(frames, ignore_index=True)
    return alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("epoch:Q"), y=alt.Y("value:Q", title=None), color=alt.Color("training:N", title=None),
        tooltip=["panel", "training", "epoch", alt.Tooltip("value:Q", format=".3f")],
    ).properties(width=FACET_W, height=170).facet(facet=alt.Facet("panel:N", title=None), columns=2).resolve_scale(
        y="independent")
