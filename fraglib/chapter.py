"""The kit every chapter calls, so that a chapter holds only what is its own.

    study = chapter.open(dataset, loss, imbalance_ratio, profile, seed)  # shows the runs once
    rq = chapter.figures(study, "RQ3")    # the figures of this research question, glued
    chapter.figure(chart, "caption")      # a chart with its caption
    chapter.beside_paper(study, rq, rows) # ours beside the paper's, "–" where it is silent
    chapter.verdict(study, "RQ3")         # the claims table; the verdict sentence is glued

Numbers in a chapter's prose are glued (myst-nb) under `<field>` for ours and `paper_<field>`
for the paper's, so no number is typed by hand.
"""
from __future__ import annotations

import html

import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown

from . import charts, claims
from .config import BadInput, whole_number
from .paper import paper_figures
from .study import Study

pd.set_option("display.max_colwidth", None)


def _one_line_errors() -> None:
    """In a notebook kernel, bad input (a chapter parameter naming no valid choice) shows as one
    line in the page, not a traceback through fraglib."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def show(shell, etype, value, tb, tb_offset=None):
        shell._showtraceback(etype, value, [f"error: {value}"])
    shell.set_custom_exc((BadInput,), show)


_one_line_errors()


def open(dataset: str, loss: str, imbalance_ratio: float, profile: str, seed: int, seeds: int = 1,
         **kw) -> Study:
    """The chapter's study (trained only if the store lacks it), shown once: the runs this page
    reads, their BAC and whether they are in the regime (glued as `regime` for the prose). Every
    parameter is validated before anything trains."""
    from IPython.display import display
    whole_number("seeds", seeds, minimum=1)
    charts.use_book_renderer()
    study = Study(dataset, loss, imbalance_ratio, profile, seed, progress=False, **kw)
    display(configuration(study))
    return study


def configuration(study: Study):
    """The runs of a study as a table, and the `regime` sentence glued for the prose."""
    from myst_nb import glue
    glue("regime", Markdown("both runs are **in the paper's regime**" if study.in_regime else
                            "**a run is outside the paper's regime**, so the verdicts below test nothing"),
         display=False)
    return study.overview().style.format(precision=2, na_rep="–")


def figures(study: Study, rq: str, **options):
    """The figures of one research question (`study.figures`), their scalars glued for the prose
    as `<field>` (ours) and `paper_<field>` (the paper's). `options` go to the figure function
    (EOS: k_enemies)."""
    result = study.figures(rq, **options)
    headline(study, result, rq)
    return result


def number(value, spec: str | None = None) -> str:
    """A figure as prose: floats to two decimals (or `spec`), "–" where there is none."""
    if isinstance(value, (float, np.floating)) and not np.isfinite(value):
        return "–"
    if spec is None:
        spec = ".2f" if isinstance(value, (float, np.floating)) else ""
    return claims.fmt(value, spec)


def glue_number(name: str, value, spec: str | None = None) -> None:
    """Glue a figure for the prose (reference it with {glue:md}`name`)."""
    from myst_nb import glue
    glue(name, Markdown(number(value, spec)), display=False)


def headline(study: Study, figures, rq: str | None = None) -> None:
    """Glue every scalar figure of ours as `<field>` and the paper's as `paper_<field>`."""
    rq = rq or type(figures).__name__
    paper, label = paper_figures(study.dataset, study.loss, rq)
    for name, value in figures.scalars().items():
        glue_number(name, value)
    for name, value in paper.scalars().items():
        glue_number(f"paper_{name}", value)
    from myst_nb import glue
    glue("paper_source", Markdown(label), display=False)


def figure(chart, caption: str):
    """A chart with its caption underneath (the caption names the paper's figure it reproduces)."""
    bundle = chart._repr_mimebundle_()
    body = bundle[0] if isinstance(bundle, tuple) else bundle
    inner = body.get("text/html")
    if inner is None:  # outside the book (JupyterLab): Altair's own renderer, caption below
        from IPython.display import display
        display(chart)
        return Markdown(f"*{caption}*")
    return HTML(f'<figure class="fraglib-figure">{inner}<figcaption>{html.escape(caption)}'
                f"</figcaption></figure>")


def beside_paper(study: Study, figures, rows: dict[str, str]):
    """Our figures with their 95% bootstrap intervals beside the paper's, one row per field
    (`rows`: field -> row name); "–" where the paper reports nothing or a figure has no
    instance-level interval (the trained weights)."""
    paper, label = paper_figures(study.dataset, study.loss, type(figures).__name__)

    def iv(f):
        lo_hi = figures.interval(f)
        return "–" if lo_hi is None else f"[{number(float(lo_hi[0]))}, {number(float(lo_hi[1]))}]"
    table = pd.DataFrame({"ours": [getattr(figures, f) for f in rows],
                          "95% interval": [iv(f) for f in rows],
                          label: [getattr(paper, f) for f in rows]},
                         index=list(rows.values()), dtype=object)
    return table.style.format(number, na_rep="–")


def verdict(study: Study, rq: str, seeds: int = 1):
    """The claims of this research question: glue the verdict sentence, return the table; with
    seeds > 1, also the count of seeds 0 .. seeds-1 in which each claim holds (glued as
    `verdict_seeds`, shown under the table)."""
    from IPython.display import display
    from myst_nb import glue
    seeds = whole_number("seeds", seeds, minimum=1)
    checks = study.claims(rq)
    glue("verdict", Markdown(claims.sentence(checks)), display=False)
    if seeds <= 1:
        glue("verdict_seeds", Markdown(f"This page reads one trained network (seed {study.seed}); "
                                       f"`python -m fraglib book --seeds N` counts each claim over N "
                                       f"networks."), display=False)
        return claims.table(checks)
    display(claims.table(checks))
    per_seed = {s: (checks if s == study.seed else study.with_seed(s).claims(rq)) for s in range(seeds)}
    glue("verdict_seeds", Markdown(f"The second table counts each claim over seeds 0 to {seeds - 1}, each a "
                                   f"network trained anew: a claim that holds in one seed only is a property "
                                   f"of that network, not of imbalanced training."), display=False)
    return claims.across_seeds(per_seed).style.hide(axis="index")


def collapse(study: Study):
    """RQ5's Minority Collapse section: the figures (glued as `collapse_<field>`), a chart and its
    own verdict table (glued sentence: `collapse_verdict`)."""
    from IPython.display import display
    from myst_nb import glue
    from .figures import collapse_figures
    fig = collapse_figures(study)
    for name, value in fig.scalars().items():
        glue_number(f"collapse_{name}", value, ".0f" if name == "ratio_max" else None)
    checks = claims.judge(claims.collapse_claims(fig), study.in_regime)
    glue("collapse_verdict", Markdown(claims.sentence(checks)), display=False)
    display(figure(charts.collapse_lines(fig), "Figure 5.3. Mean pairwise cosine of the minority classes' "
                   "(the last half of the imbalance order) and the majority classes' classifier rows "
                   "and class-mean fe, cross-entropy runs at each ratio (Fang et al.'s Minority "
                   "Collapse)."))
    return claims.table(checks)


def procrustean(dataset: str, profile: str, seed: int, site: str, strength: float):
    """The Procrustean chapter's figures (glued as `<field>`), its runs shown once."""
    from IPython.display import display
    from .figures import procrustean_configs, procrustean_figures
    from .runs import RunStore
    from .study import RegimeCheck
    charts.use_book_renderer()
    store = RunStore()
    rows = []
    for name, config in procrustean_configs(dataset, profile, seed, site, strength).items():
        run = store.get(config, progress=False)
        reg = RegimeCheck.of(run.metrics)
        rows.append({"run": name, "configuration": config.label(), "test BAC (%)": 100 * run.metrics["test_bac"],
                     "lowest class train acc. (%)": 100 * reg.worst_train_acc,
                     "paper's regime": "yes" if reg.in_regime else "NO"})
    display(pd.DataFrame(rows).set_index("run").style.format(precision=2))
    fig = procrustean_figures(dataset, profile, seed, site, strength, store)
    for name, value in fig.scalars().items():
        glue_number(name, value)
    return fig


def procrustean_verdict(fig):
    from myst_nb import glue
    checks = claims.procrustean_claims(fig)
    glue("verdict", Markdown(claims.sentence(checks)), display=False)
    return claims.table(checks)


def per_run(balanced, imbalanced, figures=None, names: tuple[str, str] | None = None, **columns) -> pd.DataFrame:
    """A long frame of one per-class array for each run, tagged by model (for faceted charts);
    with `figures` and the two arrays' field `names`, their 95% bootstrap intervals (lo, hi)."""
    frames = []
    for i, (model, values) in enumerate((("balanced-trained", balanced), ("imbalanced-trained", imbalanced))):
        values = np.asarray(values, dtype=float)
        lo_hi = figures.interval(names[i]) if figures is not None and names else None
        lo, hi = (np.nan, np.nan) if lo_hi is None else lo_hi
        frames.append(pd.DataFrame({"class": range(len(values)), "value": values, "model": model,
                                    "lo": lo, "hi": hi, **columns}))
    return pd.concat(frames, ignore_index=True)


# -- pages over the whole matrix: the summary and the per-RQ comparisons ---------------------------
def open_matrix(profile: str, seed: int = 0) -> dict[str, Study]:
    """Every configuration of the profile's matrix, by label (dataset · loss · ratio)."""
    from .config import MATRIX, check_choice
    check_choice("profile", profile, tuple(MATRIX))
    charts.use_book_renderer()
    return {f"{d} · {l} · {r:g}:1": Study(d, l, r, profile, seed, progress=False) for d, l, r in MATRIX[profile]}


def links(rq: str, studies: dict[str, Study]):
    """Links to the configuration pages of one research question (they sit beside this page)."""
    items = [f"- [{label}]({s.dataset}-{s.loss}.ipynb)" for label, s in studies.items()]
    return Markdown(f"The configurations of {rq}:\n\n" + "\n".join(items))


def key_figure(rq: str, studies: dict[str, Study]):
    chart, caption = charts.key_figure(rq, {label: s.figures(rq) for label, s in studies.items()})
    return figure(chart, caption)


def seed_counts(studies: list[Study], rq: str | None = None) -> list[str]:
    """For each claim of `rq` (or of every RQ), in how many of the studies (one per seed) it holds."""
    per_seed = [s.claims(rq) for s in studies]
    return [f"{sum(ps[i].verdict == claims.HOLDS for ps in per_seed)} of {len(studies)}"
            for i in range(len(per_seed[0]))]


def verdict_rows(rq: str, studies: dict[str, Study], seeds: int = 1):
    """Every verdict row of one research question, one block per configuration (and with
    seeds > 1, in how many seeds each holds)."""
    from myst_nb import glue
    seeds = whole_number("seeds", seeds, minimum=1)
    rows = []
    for label, s in studies.items():
        held = seed_counts([s.with_seed(k) for k in range(seeds)], rq) if seeds > 1 else None
        for i, c in enumerate(s.claims(rq)):
            rows.append(dict(c.row(), configuration=label, **({"holds in (seeds)": held[i]} if held else {})))
    df = pd.DataFrame(rows)
    counts = df.verdict.value_counts()
    glue("verdict_count", Markdown(", ".join(f"**{n}** {v}" for v, n in counts.items())
                                   + f" (of {len(df)} checks)."), display=False)
    cols = ["configuration", "claim", "paper", "ours", "resamples holding", "verdict"]
    return df[cols + (["holds in (seeds)"] if seeds > 1 else [])].style.hide(axis="index")


def all_claims(profile: str, seed: int = 0, seeds: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every claim of every research question (EOS included) for every configuration, and one row
    per configuration: both runs' test BAC and whether they are in the regime. With seeds > 1,
    each claim's count of seeds in which it holds, and BAC as mean and spread over the seeds."""
    seeds = whole_number("seeds", seeds, minimum=1)
    rows, runs = [], []
    for label, study in open_matrix(profile, seed).items():
        by_seed = [study.with_seed(s) for s in range(seeds)] if seeds > 1 else None   # read once
        held = seed_counts(by_seed) if by_seed else None
        rows += [dict(c.row(), configuration=label, **({"holds in (seeds)": held[i]} if held else {}))
                 for i, c in enumerate(study.claims())]
        row = {"configuration": label}
        if by_seed:
            for name in ("balanced", "imbalanced"):
                bac = np.array([100 * getattr(s, name).metrics["test_bac"] for s in by_seed])
                row[f"{name} BAC (%), mean ± sd over {seeds} seeds"] = f"{bac.mean():.2f} ± {bac.std(ddof=1):.2f}"
        else:
            row.update({"balanced BAC (%)": 100 * study.balanced.metrics["test_bac"],
                        "imbalanced BAC (%)": 100 * study.imbalanced.metrics["test_bac"]})
        row["paper's regime"] = study.regime_note()
        runs.append(row)
    runs_df = pd.DataFrame(runs).set_index("configuration").style.format(precision=2)
    return pd.DataFrame(rows), runs_df
