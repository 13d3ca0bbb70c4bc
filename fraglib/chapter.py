"""The kit every chapter calls, so that a chapter holds only what is its own.

    study = chapter.open("RQ3", dataset, loss, imbalance_ratio, profile, seed, seeds)  # its runs, once
    figs = chapter.headline(study, "RQ3")     # the question's figures, their scalars glued
    chapter.chart("rq3-coverage", chart)      # a chart glued for a numbered {glue:figure}
    chapter.paper_table(study, figs, rows)    # ours beside the paper's, "–" where it is silent
    chapter.verdict(study, "RQ3", seeds)      # the claims table; the verdict sentence is glued

Numbers in a chapter's prose are glued (myst-nb) under `<field>` for ours and `paper_<field>`
for the paper's, so no number is typed by hand; figures are numbered by Sphinx (a chapter's
markdown holds a `{glue:figure}` with a `:name:`), so no figure number is typed either.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
from IPython.display import Markdown

from . import charts, claims, ledger, verdicts
from .config import BadInput, whole_number
from .plan import constants, studies_of
from .questions import QUESTIONS, question
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


_STUDIES: dict = {}   # one Study per kind of study and configuration in a page's kernel, whichever question asks


def _study(q: str, dataset: str, loss: str, imbalance_ratio: float, profile: str, seed: int, seeds: int = 1) -> Study:
    """The study a question reads, made once per kernel for its run store: the questions of one
    kind (every pair question) share it, so its runs are read and verified once, and each
    question's figures and multiverse are computed once (the summary reads them twice)."""
    from .runs import default_root
    runs = question(q).runs
    key = (str(default_root()), runs, dataset, loss, float(imbalance_ratio), profile, seed, seeds)
    if key not in _STUDIES:
        _STUDIES[key] = Study(dataset, loss, imbalance_ratio, profile, seed, progress=False, runs=runs, seeds=seeds)
    return _STUDIES[key]


def open(q: str, dataset: str, loss: str = "ce", imbalance_ratio: float = 100, profile: str = "quick",
         seed: int = 0, seeds: int = 1) -> Study:
    """The study a question's page reads (trained only if the store lacks it), shown once: its
    runs, their BAC and whether they are in the regime (glued as `regime` for the prose). Every
    parameter is validated before anything trains."""
    from IPython.display import display
    charts.use_book_renderer()
    study = _study(q, dataset, loss, imbalance_ratio, profile, seed, seeds)
    glue_constants(q)
    display(configuration(study))
    return study


def glue_constants(q: str | None = None) -> None:
    """Glue the numbers a page may quote (`plan.constants`: the book's and the question's own) for
    the prose as `c_<name>` ({glue:md}`c_level`), so that no number is typed by hand."""
    from myst_nb import glue
    for name, (value, _) in constants(q).items():
        glue(f"c_{name}", Markdown(str(value)), display=False)


def configuration(study: Study):
    """The runs of a study as a table, and the `regime` sentence glued for the prose."""
    from myst_nb import glue
    glue("regime", Markdown("every run is **in the paper's regime**" if study.in_regime else
                            "**a run is outside the paper's regime** (see the table)"), display=False)
    return study.overview().style.format(precision=2, na_rep="–")


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


def headline(study: Study, q: str, **options):
    """The figures of one question (`Study.figures`; `options` go to its analyses, EOS:
    k_enemies), every scalar glued for the prose as `<field>` (ours) and `paper_<field>` (the
    paper's, with `paper_source` saying where it comes from)."""
    from myst_nb import glue
    figs = study.figures(q, **options)
    paper, label = study.paper(figs, q)
    for name, value in figs.scalars().items():
        glue_number(name, value)
    for name, value in paper.scalars().items():
        glue_number(f"paper_{name}", value)
    glue("paper_source", Markdown(label), display=False)
    return figs


def chart(name: str, chart_):
    """Glue a chart under `name` for the chapter's `{glue:figure} name` (Sphinx numbers it and sets
    its caption). Outside the book (JupyterLab) the chart is shown here instead."""
    from myst_nb import glue
    in_book = os.environ.get("FRAGLIB_BOOK") == "1"
    glue(name, chart_, display=not in_book)


def paper_table(study: Study, figs, rows: dict[str, str]):
    """Our figures with their 95% bootstrap intervals beside the paper's, one row per field
    (`rows`: field -> row name); "–" where the paper reports nothing or a figure has no
    instance-level interval (the trained weights)."""
    paper, label = study.paper(figs)

    def iv(f):
        lo_hi = figs.interval(f)
        if lo_hi is None:
            return "–"
        return f"[{number(float(lo_hi[0]))}, {number(float(lo_hi[1]))}]" + (claims.OUTSIDE_MARK if figs.outside(f) else "")
    table = pd.DataFrame({"ours": [getattr(figs, f) for f in rows], "95% interval": [iv(f) for f in rows],
                          label: [getattr(paper, f) for f in rows]}, index=list(rows.values()), dtype=object)
    return table.style.format(number, na_rep="–")


def paper_bars(study: Study, figs, rows: dict[str, str], y_title: str):
    """`charts.paper_bars` for this study's configuration (the paper's figures looked up here)."""
    paper, label = study.paper(figs)
    return charts.paper_bars(figs, paper, label, rows, y_title)


def verdict(study: Study, q: str):
    """The claims of one question: glue the verdict sentence, return the table; with the study's
    seeds > 1, also in how many of seeds 0 .. seeds-1 each claim holds (`Study.over_seeds`, the one
    rule every page reads; glued as `verdict_seeds`, shown under the table)."""
    from IPython.display import display
    from myst_nb import glue
    seeds = study.seeds
    checks = study.claims(q)
    glue("verdict", Markdown(claims.sentence(checks)), display=False)
    if seeds <= 1:
        glue("verdict_seeds", Markdown(f"This page reads one trained network per run (seed {study.seed}); "
                                       f"`python -m fraglib book --seeds N` counts each claim over N "
                                       f"networks."), display=False)
        return claims.table(checks)
    display(claims.table(checks))
    glue("verdict_seeds", Markdown(f"The table above is seed 0's network. The second reads each claim over seeds "
                                   f"0 to {seeds - 1}, each a network trained anew on another draw of the images, "
                                   f"and gives the row's verdict: robust (it holds in every seed), direction-stable "
                                   f"(the paper's direction in every seed, not always beyond noise or at its "
                                   f"size), mixed or failing. A claim that holds in one seed only is a property of "
                                   f"that network, not of imbalanced training."), display=False)
    rows = [{"question": c.question, "claim": c.text, **r} for c, r in zip(checks, study.seed_rows(q))]
    return pd.DataFrame(rows).style.hide(axis="index")


def per_run(balanced, imbalanced, figures=None, names: tuple[str, str] | None = None, **columns) -> pd.DataFrame:
    """A long frame of one per-class array for each run, tagged by model (for faceted charts);
    with `figures` and the two arrays' field `names`, their 95% bootstrap intervals (lo, hi)."""
    def frame(model, values):
        values = np.asarray(values, dtype=float)
        name = dict(zip(charts.MODELS, names or ())).get(model)
        lo_hi = figures.interval(name) if figures is not None and name else None
        lo, hi = (np.nan, np.nan) if lo_hi is None else lo_hi
        return pd.DataFrame({"class": range(len(values)), "value": values, "model": model, "lo": lo, "hi": hi,
                             **columns})
    return charts.per_model(frame, balanced, imbalanced)


# -- pages over the whole matrix: the summary and the per-question comparisons ----------------------
def studies(q: str, profile: str, seed: int = 0, seeds: int = 1) -> dict[str, Study]:
    """Every study of one question on a profile, by label (`plan.studies_of`): one per
    configuration of the matrix ("dataset · loss · ratio:1"), or the one study of a profile-scope
    question (by dataset)."""
    row = question(q)
    charts.use_book_renderer()
    by = studies_of(row, profile)
    label = (lambda c: c.dataset) if row.scope == "profile" else (lambda c: c.label)
    return {label(c): _study(row.id, c.dataset, c.loss, c.ratio, profile, seed, seeds) for c in by}


def links(q: str, profile: str):
    """Links to the configuration pages of one question (they sit beside this page)."""
    items = [f"- [{c.label}]({c.page_name}.ipynb)" for c in studies_of(question(q), profile)]
    return Markdown(f"The configurations of {question(q).id}:\n\n" + "\n".join(items))


def key_figure(q: str, by_label: dict[str, Study]):
    """The question's key figure (figures.KeyFigure) with every configuration in it, glued as
    `key-figure` (the comparison page's `{glue:figure}`), its caption as `key_caption`."""
    from myst_nb import glue
    row = question(q)
    chart("key-figure", charts.key_figure(row.key_figure, {label: s.figures(q) for label, s in by_label.items()}))
    glue("key_caption", Markdown(row.key_figure.caption), display=False)


def claim_rows(q: str, by_label: dict[str, Study]) -> list[dict]:
    """Every check of one question, one row per claim and configuration. The row's verdict is its
    verdict over the seeds (`Study.seed_rows`: robust, direction-stable, mixed, failing) wherever
    several are counted, with seed 0's beside it; in how many seeds the claim holds (the one rule)
    and every seed's verdict go with it."""
    rows = []
    for label, s in by_label.items():
        over = s.seed_rows(q)
        for i, c in enumerate(s.claims(q)):
            row = dict(c.row(), configuration=label, **over[i])
            row["verdict (seed 0)"] = row["verdict"]
            row["verdict"] = row.pop("verdict over seeds")
            rows.append(row)
    return rows


def verdict_rows(q: str, by_label: dict[str, Study]):
    """Every verdict row of one question, one block per configuration (and with seeds > 1, in how
    many seeds each holds)."""
    from myst_nb import glue
    df = pd.DataFrame(claim_rows(q, by_label))
    counts = df.verdict.value_counts()
    glue("verdict_count", Markdown(", ".join(f"**{n}** {v}" for v, n in counts.items())
                                   + f" (of {len(df)} checks)."), display=False)
    seeds = next(iter(by_label.values())).seeds
    return _verdict_table(df, ["configuration", "claim"], seeds, ["holds in (seeds)", "verdicts by seed"])


def all_claims(profile: str, seed: int = 0, seeds: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every claim of every question on the summary (the extensions included) for every
    configuration, and one row per study: its runs' test BAC and whether they are in the regime.
    Each claim carries its stability (`holds in (seeds)`, the one rule) and the digests of the
    runs it read, for the ledger. With seeds > 1, BAC as mean and spread over the seeds."""
    seeds = whole_number("seeds", seeds, minimum=1)
    rows, runs = [], []
    for row in (r for r in QUESTIONS if r.on_summary):
        for label, study in studies(row.id, profile, seed, seeds).items():
            by_seed = study.per_seed()
            digests = ";".join(f"seed {s.seed} {name}:{run.metrics['model_sha256'][:16]}"
                               for s in by_seed for name, run in s.runs.items())
            rob = study.robustness(row.id)
            for r, b in zip(claim_rows(row.id, {label: study}), rob):
                rows.append(dict(r, seeds=f"0-{seeds - 1}" if seeds > 1 else "0", runs=digests,
                                 robustness=b.kind, **{"turns on": ", ".join(b.matters) or "–",
                                                       "specifications holding": f"{100 * b.share_holding:.0f}% of {len(b.by_spec)}"}))
            runs.append(_bac_row(label, study, by_seed if seeds > 1 else None))
    runs_df = pd.DataFrame(runs).drop_duplicates("study").set_index("study").style.format(precision=2, na_rep="–")
    return pd.DataFrame(rows), runs_df


def summary_headline(allc: pd.DataFrame, seeds: int) -> None:
    """Glue the summary's headline (`headline`): with several seeds, the rows' verdicts over the
    seeds (robust, direction-stable, mixed, failing) and how the book treats many correlated
    checks; with one, that seed's verdicts, the one-network rows apart; the rows that do not vote;
    every phrase from the table of verdict kinds."""
    from myst_nb import glue
    k = verdicts.counts(allc.verdict)
    voting = allc[allc.verdict.map(lambda v: verdicts.kind(v).votes)]
    if seeds > 1:
        text = (f"Of **{len(voting)}** checks that vote, read over {seeds} seeds (each a network trained anew on "
                f"another draw of the images): {verdicts.tally(k)}. {verdicts.MULTIPLICITY}")
        first = verdicts.counts(voting["verdict (seed 0)"])
        text += f" Seed 0 alone: {verdicts.tally(first)}."
    else:
        text = (f"Of **{len(voting)}** checks that vote, {verdicts.tally(k)}. One seed: a verdict here is one "
                f"network's; `python -m fraglib book --seeds N` reads each row over N.")
    for x in verdicts.ALL:
        if not x.votes and k[x.name]:
            text += f" {k[x.name]} {x.phrase} ({x.definition})."
    glue("headline", Markdown(text), display=False)


def _verdict_table(df: pd.DataFrame, lead: list, seeds: int, more: list, always: list = ()):
    """A table of checks: the `lead` columns, the paper's figure and ours, the row's verdict, with
    several seeds the `more` columns (the figures shown are then seed 0's, and the columns say so),
    and the `always` columns that `df` has."""
    cols = (lead + ["paper", "ours", "resamples holding", "verdict"] + (more if seeds > 1 else [])
            + [c for c in always if c in df])
    names = {"ours": "ours (seed 0)", "resamples holding": "resamples holding (seed 0)"} if seeds > 1 else {}
    return df[cols].rename(columns=names).style.hide(axis="index")


def summary_table(allc: pd.DataFrame, seeds: int):
    """Every check of the summary, the row's verdict first (over the seeds, where several are read),
    and its robustness across the analysis choices."""
    return _verdict_table(allc, ["question", "configuration", "claim"], seeds,
                          ["verdict (seed 0)", "holds in (seeds)", "verdicts by seed"],
                          always=["robustness", "turns on", "specifications holding"])


def choices_that_matter(allc: pd.DataFrame):
    """Which analysis choices flip verdicts across the book: for each declared choice, how many
    voting rows depend on it and how many it flips (book/methods.md, "The multiverse"); glues
    `multiverse_headline`."""
    from myst_nb import glue
    from .multiverse import CHOICES
    voting = allc[allc.verdict.map(lambda v: verdicts.kind(v).votes)]
    rows = []
    for c in CHOICES:
        flips = voting["turns on"].map(lambda t: c.name in str(t).split(", "))
        rows.append({"choice": c.name, "values (default first)": ", ".join(map(str, c.values)), "what": c.meaning,
                     "rows it flips": int(flips.sum())})
    k = verdicts.counts(voting.robustness)
    glue("multiverse_headline", Markdown(
        f"Across the analysis choices the paper left open, of {len(voting)} voting rows: {verdicts.tally(k)}."),
        display=False)
    return pd.DataFrame(rows).sort_values("rows it flips", ascending=False).style.hide(axis="index")


def verdict_legend():
    """The table of verdict kinds as the summary shows it."""
    return pd.DataFrame(verdicts.legend()).style.hide(axis="index")


def ledger_rows(allc: pd.DataFrame) -> list[dict]:
    """Every check as the ledger's rows: claim, configuration, seeds, the paper's figure, ours with
    its interval, verdict, stability, the runs' digests and the code version."""
    from . import __version__
    from .provenance import fraglib_digest
    return ledger.rows(allc, f"fraglib {__version__}, source {fraglib_digest(__version__)[:16]}")


def hand_ledger_to_build(allc: pd.DataFrame, long: list[dict] | None = None) -> None:
    """The summary page's rows, handed to the build, which writes claims-ledger.csv and .json
    (and the multiverse's long claims-multiverse.csv, `multiverse_long`) beside this page from the
    page itself (`ledger.publish`): a page run by hand writes no file."""
    ledger.for_build(ledger_rows(allc), long)


def _bac_row(label: str, study: Study, by_seed) -> dict:
    """One row of the summary's run table: a study's runs' test BAC (mean ± sd over seeds) and
    whether they are in the regime."""
    row = {"study": f"{study.kind}: {label}"}
    for name in study.runs:
        if by_seed:
            bac = np.array([100 * s.runs[name].metrics["test_bac"] for s in by_seed])
            row[f"{name} BAC (%), mean ± sd over {len(by_seed)} seeds"] = f"{bac.mean():.2f} ± {bac.std(ddof=1):.2f}"
        else:
            row[f"{name} BAC (%)"] = 100 * study.runs[name].metrics["test_bac"]
    row["paper's regime"] = study.regime_note()
    return row


# -- the multiverse: each claim under every specification of the analysis choices it depends on ------
def robustness_rows(study: Study, q: str) -> list[dict]:
    """One row per claim of a question: its robustness across seeds and analysis choices
    (`multiverse.robustness`), the choices it depends on, the share of specifications in which it
    holds over the seeds and in each seed, and the choices that flip it."""
    out = []
    for c, r in zip(study.claims(q), study.robustness(q)):
        out.append({"question": c.question, "claim": c.text, "choices": ", ".join(c.choices) or "none",
                    "specifications": len(r.by_spec), "robustness": r.kind, "reading": r.text,
                    "specifications holding (over seeds)": f"{100 * r.share_holding:.0f}%",
                    "per seed": " · ".join(f"{100 * x:.0f}%" for x in r.share_by_seed),
                    "turns on": ", ".join(r.matters) or "–"})
    return out


def multiverse(study: Study, q: str):
    """A chapter's claims across the analysis choices the paper left open (book/methods.md, "The
    multiverse"): the strip chart of every claim under every specification of its choices, glued as
    `multiverse` (each cell the claim's verdict over the seeds under that specification), a
    sentence glued as `multiverse_text`, and the table of robustness classes returned."""
    from myst_nb import glue
    from .multiverse import choice
    row = question(q)
    claims_ = study.claims(q)
    rob = study.robustness(q)
    cells = [{"claim": f"{i + 1}. {c.text[:70]}", "specification": spec, "verdict": v}
             for i, (c, r) in enumerate(zip(claims_, rob)) for spec, v in r.by_spec.items()]
    chart("multiverse", charts.multiverse_strip(pd.DataFrame(cells)))
    table = robustness_rows(study, q)
    k = verdicts.counts(r["robustness"] for r in table)
    named = "; ".join(f"`{c}` ({', '.join(map(str, choice(c).values))}; default {choice(c).default})"
                      for c in row.choices + ("selection",))
    text = (f"This chapter's analysis choices: {named}. Of {len(table)} claims, {verdicts.tally(k)}, over "
            f"{study.seeds} seed(s) and every specification of the choices each claim depends on (nothing is "
            f"trained again).")
    glue("multiverse_text", Markdown(text), display=False)
    return pd.DataFrame(table).drop(columns=["question"]).style.hide(axis="index")


def multiverse_long(profile: str, seed: int = 0, seeds: int = 1) -> list[dict]:
    """The ledger's long file: one row per claim, configuration, seed and specification of every
    question on the summary (the default specification's rows are the ledger's verdicts)."""
    from .multiverse import label
    out = []
    for row in (r for r in QUESTIONS if r.on_summary):
        for lab, study in studies(row.id, profile, seed, seeds).items():
            texts = [c.text for c in study.claims(row.id)]      # the default specification's wording
            for r in study.multiverse(row.id):
                out.append({"question": r["question"], "claim": texts[r["index"]], "configuration": lab,
                            "seed": r["seed"], "specification": label(r["spec"]),
                            "claim under it": r["claim"], "verdict": r["verdict"], "observed": r["observed"],
                            "resamples holding": "" if r["support"] is None else round(r["support"], 4),
                            "ours": r["ours"]})
    return out


# -- the selection gap: what choosing the epoch on the test set is worth ------------------------------
def selection_rows(runs) -> list[dict]:
    """For every run (once each), test BAC (%) at the epoch each model-selection rule picks in its
    selection window (`metrics.json`'s `selections`, as the training loop measured it: the same
    precision for every rule), and the paper's protocol's gain over the validation split's choice."""
    from .runs import SELECTION_RULES
    out, seen = [], set()
    for run in runs:
        if run.folder in seen:
            continue
        seen.add(run.folder)
        sel = run.metrics.get("selections")
        row = {"run": run.config.label(), "seed": run.config.seed}
        if not sel or "validation-best" not in sel:
            out.append(dict(row, note="not recorded (trained before runs kept it, or under the paper's protocol)"))
            continue
        for rule in SELECTION_RULES:
            row[f"{rule} epoch"] = sel[rule]["epoch"] + 1
            row[f"{rule} test BAC (%)"] = 100 * sel[rule]["test_bac"]
        row["test-best gain (pts)"] = row["test-best test BAC (%)"] - row["validation-best test BAC (%)"]
        row["last - validation-best (pts)"] = row["last test BAC (%)"] - row["validation-best test BAC (%)"]
        out.append(dict(row, note=""))
    return out


def selection_gap(profile: str, seed: int = 0, seeds: int = 1):
    """The selection-gap table of every run the summary reads (`selection_rows`), and a sentence
    glued as `selection_gap`: the mean gain of choosing the epoch on the test set (the paper's
    protocol) over the validation split's choice, its spread over the seeds, and how often it
    picks another epoch."""
    from myst_nb import glue
    runs = [run for row in QUESTIONS if row.on_summary
            for study in studies(row.id, profile, seed, seeds).values()
            for s in study.per_seed() for run in s.runs.values()]
    df = pd.DataFrame(selection_rows(runs))
    kept = df[df.note == ""] if "note" in df else df.iloc[0:0]
    if kept.empty:
        text = "No run of this book recorded the epochs of the other selection rules (trained before runs kept them)."
    else:
        per_seed = kept.groupby("seed")["test-best gain (pts)"].mean()
        spread = f" (seed means {', '.join(f'{v:+.2f}' for v in per_seed)}; sd {per_seed.std(ddof=1):.2f})" \
            if len(per_seed) > 1 else ""
        moved = int((kept["test-best epoch"] != kept["validation-best epoch"]).sum())
        text = (f"Choosing each run's epoch on the test set, as the paper does, instead of on the validation split "
                f"raises test BAC by **{kept['test-best gain (pts)'].mean():+.2f} points** on average over "
                f"{len(kept)} runs{spread}: it picks another epoch in {moved} of them. The last epoch reads "
                f"{kept['last - validation-best (pts)'].mean():+.2f} points against the validation choice.")
    glue("selection_gap", Markdown(text), display=False)
    return df.style.format(precision=2, na_rep="–").hide(axis="index")
