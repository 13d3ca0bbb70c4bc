"""The chapter kit and the chart builders, fast: every chart a chapter draws is built from figures
of hand-made runs and compiled by Vega-Lite (vl-convert) to an SVG with marks; the kit's tables
show ours beside the paper's with "–" where the paper is silent."""
from __future__ import annotations

from types import MappingProxyType, SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import vl_convert as vlc

from fraglib import chapter, charts, claims
from fraglib.bootstrap import Resample
from fraglib.figures import Record
from fraglib.questions import BY_ID, QUESTIONS
from fraglib.rq import collapse, rq1
from fraglib.rq import procrustean as pt

from .helpers import fake_record, fake_run, paper_of

C, H = 10, 16


def _run(seed, counts):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(C), counts)
    fe = np.maximum(rng.normal(size=(len(y), H)) + np.eye(C, H)[y] * 3, 0)
    y_test = np.repeat(np.arange(C), 20)
    fe_test = np.maximum(rng.normal(size=(len(y_test), H)) + np.eye(C, H)[y_test] * 2, 0)
    emb, metrics = fake_run(fe, y, rng.normal(size=(C, H)) + np.eye(C, H), fe_test=fe_test, y_test=y_test)
    emb.fe_full, emb.y_full = fe, y
    return emb, metrics


@pytest.fixture(scope="module")
def pair():
    bal, imb = _run(0, [30] * C), _run(1, [60, 40, 30, 20, 14, 10, 8, 6, 5, 4])
    pred = lambda: (np.arange(C * 20) % C).tolist()    # noqa: E731
    rows = [{"sampler": s, "bac": 0.5, "pred": pred(), "class_acc": [0.5] * C, "n_train": 100,
             "sampling_seconds": 0.0, "head_seconds": 0.0} for s in ("none", "crt", "ros", "smote", "eos")]
    analyses = {"retrain": {"bac": 0.6, "pred": pred()}, "eos": rows, "eos-authors": [dict(rows[-1])],
                "eos-fresh": [dict(rows[-1])]}
    rec = fake_record(bal, imb, B=100, analyses=analyses)
    return {q.id: q.figures(rec) for q in QUESTIONS if q.runs == "pair"}


@pytest.fixture(scope="module")
def ladder():
    emb = {f"ratio={r:g}": _run(r, [20] * C)[0] for r in (1, 10, 100)}
    configs = {name: SimpleNamespace(imbalance_ratio=float(name.split("=")[1])) for name in emb}
    return collapse.compute(Record(embeddings=emb, metrics={}, configs=configs))


@pytest.fixture(scope="module")
def procrustean():
    rng = np.random.default_rng(0)
    emb, metrics, configs = {}, {}, {}
    for name in ("ce_exp", "pt_exp", "ce_step", "pt_step"):
        emb[name] = _run(len(name), [20] * C)[0]
        history = [{k: rng.uniform(0.1, 1, C).tolist() for k in (
            "major_share", "fe_grad_norm", "train_class_acc_augmented", "clean_major_share", "clean_fe_grad_norm",
            "clean_class_acc")} for _ in range(8)]
        metrics[name] = {"test_bac": 0.5, "history": history}
        configs[name] = SimpleNamespace(procrustean="feature" if name.startswith("pt") else "none")
    rs = Resample(emb["ce_exp"].y_test, C, 100, 0)
    return pt.compute(Record(embeddings=emb, metrics=metrics, configs=configs, resamples=rs))


def drawn(chart) -> str:
    """The chart compiled and rendered by Vega-Lite: an SVG that holds marks."""
    svg = vlc.vegalite_to_svg(chart.to_dict())
    assert "<svg" in svg and ("<path" in svg or "<rect" in svg or "<line" in svg), svg[:300]
    return svg


def test_every_chart_of_the_paper_questions_draws(pair):
    rq2, rq3, rq4, rq5, rq6, rq7, eos = (pair[k] for k in ("RQ2", "RQ3", "RQ4", "RQ5", "RQ6", "RQ7", "EOS"))
    drawn(charts.accuracy_lines(charts.accuracy_frame(rq2)))
    drawn(charts.by_class(charts.coverage_frame(rq3), y="coverage", color="K", facet="model", title="",
                          y_title="coverage ratio"))
    drawn(charts.coverage_curve(rq3))
    drawn(charts.ranked_lines(rq4.bal_class_mean_ce_top, rq4.class_mean_ce_top, "class-mean ce"))
    drawn(charts.by_class(charts.share_frame(rq4.bal_top_ce_share, rq4.top_ce_share), y="share", color="rank",
                          facet="model", title="", y_title="share"))
    drawn(charts.ranked_lines(rq5.bal_weight_top, rq5.weight_top, "|W|"))
    drawn(charts.member_heatmap(rq6))
    drawn(charts.per_class(charts.size_matched_frame(rq6), y_title="features"))
    drawn(charts.alignment_lines(rq7))
    drawn(charts.by_class(charts.overlap_frame(rq7), y="overlap", color="set", title="", y_title="overlap"))
    table, chart = charts.sampler_results(eos)
    drawn(chart)
    assert "eos-authors" in table.to_html()
    drawn(charts.per_class(chapter.per_run(eos.bal_gap, eos.gap, figures=eos, names=("bal_gap", "gap")),
                           y_title="distance"))


def test_every_key_figure_draws_with_every_configuration(pair):
    for q in QUESTIONS:
        if q.key_figure is not None:
            svg = drawn(charts.key_figure(q.key_figure, {"a · ce": pair[q.id], "b · focal": pair[q.id]}))
            assert "a · ce" in svg and "b · focal" in svg


def test_the_extensions_charts_draw(ladder, procrustean):
    drawn(charts.collapse_lines(ladder))
    drawn(charts.procrustean_curves(procrustean))
    assert ladder.ratios == (1.0, 10.0, 100.0) and len(ladder.ladder["w:minority"]) == 3


def test_paper_bars_and_table_show_the_paper_where_it_speaks(pair):
    ours = pair["RQ1"]
    paper, label = paper_of("cifar10", "ce", rq1.RQ1)
    rows = {"bal_bac": "balanced-trained", "bac": "imbalanced-trained", "retrain_bac": "re-trained"}
    svg = drawn(charts.paper_bars(ours, paper, label, rows, "test BAC (%)"))
    assert "paper (cifar10)" in svg
    study = SimpleNamespace(paper=lambda figs, q=None: paper_of("fashion-mnist", "cdt", type(figs)))
    html = chapter.paper_table(study, ours, rows).to_html()
    assert "–" in html and "paper (no such experiment)" in html and "[" in html   # interval shown


def test_verdict_tables_and_summary_bars(pair):
    checks = BY_ID["RQ1"].claims(pair["RQ1"], paper_of("cifar10", "ce", rq1.RQ1)[0])
    html = claims.table(checks).to_html()
    assert "not recovered by a linear head re-trained this way" in html and "resamples holding" in html
    allc = pd.DataFrame([dict(c.row(), configuration="x") for c in checks])
    drawn(charts.verdict_bars(allc))
    assert claims.sentence(checks).startswith("**")


def test_numbers_in_prose_are_dashes_where_there_is_none():
    assert chapter.number(float("nan")) == "–" and chapter.number(None) == "–"
    assert chapter.number(3.14159) == "3.14" and chapter.number(7) == "7"


def test_a_charts_glue_is_shown_outside_the_book_and_kept_for_its_figure_in_it(monkeypatch):
    shown = []
    import myst_nb
    monkeypatch.setattr(myst_nb, "glue", lambda name, obj, display=True: shown.append((name, display)))
    monkeypatch.delenv("FRAGLIB_BOOK", raising=False)
    chapter.chart("x", object())
    monkeypatch.setenv("FRAGLIB_BOOK", "1")
    chapter.chart("y", object())
    assert shown == [("x", True), ("y", False)]


def test_the_record_a_figure_reads_is_frozen(pair):
    rec = fake_record(_run(0, [30] * C), _run(1, [30] * C))
    with pytest.raises(Exception):
        rec.seed = 3
    assert isinstance(MappingProxyType({}), type(Record(embeddings={}, metrics={}, configs={}).analyses))


AXIS_CHAR_PX = 6.5   # Vega's default axis title: 11 px bold, about 6.5 px a character


def facet_axis_titles(spec, width=None):
    """(title, panel width) of every x-axis title drawn once per panel of a faceted chart."""
    out = []
    if isinstance(spec, dict):
        inner = spec.get("spec") if ("facet" in spec or "column" in spec.get("encoding", {}) or "row" in spec) else None
        if inner is not None:
            w = inner.get("width")
            for part in [inner] + inner.get("layer", []):
                title = part.get("encoding", {}).get("x", {}).get("title")
                if isinstance(title, str) and isinstance(w, (int, float)):
                    out.append((title, w))
        for value in spec.values():
            out += facet_axis_titles(value)
    elif isinstance(spec, list):
        for value in spec:
            out += facet_axis_titles(value)
    return out


def test_no_faceted_chart_repeats_an_axis_title_wider_than_its_panel(ladder, procrustean, pair):
    """Probe: on the Minority Collapse page the lower panels' x-axis titles ("step imbalance ratio
    (1:1 = the balanced reference)", twice) were drawn on top of each other."""
    charts_ = [charts.collapse_lines(ladder), charts.procrustean_curves(procrustean),
               charts.accuracy_lines(charts.accuracy_frame(pair["RQ2"]))]
    titles = [t for c in charts_ for t in facet_axis_titles(c.to_dict())]
    assert titles and all(len(t) * AXIS_CHAR_PX <= w for t, w in titles), titles
