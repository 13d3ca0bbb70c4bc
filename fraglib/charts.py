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

BUNDLE_NAME = "vega-bundle.js"
WIDTH = 520
FACET_W = 190  # each panel of a faceted chart: two or three fit the page


def write_vega_bundle(static_dir: Path) -> Path:
    """One copy of vega, vega-lite and vega-embed for the whole book (no CDN)."""
    import vl_convert as vlc
    path = Path(static_dir) / BUNDLE_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Wrapped in a function: the bundle's top-level names (`_`, ...) would clash with
        # Sphinx's own globals (underscore.js) in a classic script.
        path.write_text("(function () {\n" + vlc.javascript_bundle() + "\n})();\n")
    return path


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


# -- charts ------------------------------------------------------------------------------------

def per_class_accuracy(df: pd.DataFrame, title: str) -> alt.Chart:
    """Fig. 2: train and test accuracy per class, with the class's share of n_max.
    df columns: class, split (train|test|imbalance), value, model."""
    return alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("class:O", title="class (0 = majority)"),
        y=alt.Y("value:Q", title="accuracy / n_c ÷ n_max", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("split:N", scale=alt.Scale(domain=["train", "test", "n_c / n_max"],
                                                   range=["#1f77b4", "#2ca02c", "#d62728"])),
        tooltip=["model", "class", "split", alt.Tooltip("value:Q", format=".3f")],
    ).properties(width=FACET_W, height=220).facet(column=alt.Column("model:N", title=None), title=title)


def grouped_bars(df: pd.DataFrame, x: str, y: str, color: str, title: str, y_title: str,
                 fmt: str = ".3f") -> alt.Chart:
    return alt.Chart(df, title=title).mark_bar().encode(
        x=alt.X(f"{color}:N", title=None, axis=alt.Axis(labels=False, ticks=False)),
        y=alt.Y(f"{y}:Q", title=y_title),
        color=alt.Color(f"{color}:N", title=None),
        column=alt.Column(f"{x}:N", title=None, header=alt.Header(labelOrient="bottom")),
        tooltip=[x, color, alt.Tooltip(f"{y}:Q", format=fmt)],
    ).properties(width=90, height=240)


def _lines(df, x, x_title, y, y_title, color, title, facet, y_domain) -> alt.Chart:
    """Lines with points, optionally faceted into columns; the shared body of the two below."""
    scale = alt.Scale(domain=y_domain) if y_domain else alt.Undefined
    chart = alt.Chart(df).mark_line(point=True).encode(
        x=alt.X(x, title=x_title),
        y=alt.Y(f"{y}:Q", title=y_title, scale=scale),
        color=color,
        tooltip=[x.split(":")[0], color.shorthand.split(":")[0], alt.Tooltip(f"{y}:Q", format=".3f")],
    ).properties(width=FACET_W if facet else WIDTH - 120, height=220)
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
