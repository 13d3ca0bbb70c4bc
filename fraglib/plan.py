"""The book's plan, in one place: its configurations, the studies each question reads, the runs
and analyses they need, its pages (with their names and titles), its chapters and its table of
contents. `book.py`, the chapter kit and the benchmarks all read it.

Every page and every run follows from the table of questions (`questions.QUESTIONS`) and the
profile's matrix (`config.MATRIX`): a page per configuration for each question of that scope
(and a comparison page where the question has a key figure), a page per profile for the others,
and the summary.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .config import MATRIX, RUN_SETS, RunConfig, check_choice
from .figures import Question
from .questions import CHAPTERS, QUESTIONS

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Configuration:
    """One (dataset, loss, ratio) of a profile's matrix, as the pages name it."""

    dataset: str
    loss: str
    ratio: float
    page_name: str          # its page's file name in a chapter's folder (no suffix)

    @property
    def label(self) -> str:
        return f"{self.dataset} · {self.loss} · {self.ratio:g}:1"


def configurations(profile: str) -> list[Configuration]:
    """The profile's matrix. A page is named by dataset and loss, and by ratio too where the
    matrix holds one loss of a dataset at two ratios (the names would collide)."""
    check_choice("profile", profile, tuple(MATRIX))
    pairs = [(d, l) for d, l, _ in MATRIX[profile]]
    return [Configuration(d, l, float(r), f"{d}-{l}" + (f"-{r:g}" if pairs.count((d, l)) > 1 else ""))
            for d, l, r in MATRIX[profile]]


def studies_of(q: Question, profile: str) -> list[Configuration]:
    """The configurations a question reads on a profile: every configuration of the matrix, or
    (profile scope) the matrix's first dataset, with cross-entropy (the page is named by dataset)."""
    if q.scope == "profile":
        first = configurations(profile)[0]
        return [Configuration(first.dataset, "ce", first.ratio, first.dataset)]
    return configurations(profile)


def run_set(q: Question, c: Configuration, profile: str, seed: int) -> dict[str, RunConfig]:
    """The named runs of one study (one configuration, one seed)."""
    return RUN_SETS[q.runs](c.dataset, c.loss, c.ratio, profile, seed)


def notebook(chapter: str, repo: Path = REPO) -> Path:
    """A chapter's Jupytext file: notebooks/<chapter>.py, or where its question's row says."""
    row = CHAPTERS.get(chapter)
    return Path(row.notebook) if row is not None and row.notebook else Path(repo) / "notebooks" / f"{chapter}.py"


def chapters() -> list[str]:
    """The chapters of the book, in the table's order (those whose notebook exists)."""
    return [q.chapter for q in QUESTIONS if notebook(q.chapter).exists()]


@dataclass
class Page:
    chapter: str
    out: Path
    title: str
    parameters: dict
    runs: list = field(default_factory=list)   # the RunConfigs it reads (its cache key names them)


@dataclass
class Plan:
    pages: list[Page]
    runs: dict[str, RunConfig]                 # digest -> config: everything the book reads
    analyses: dict[str, set]                   # digest -> names of the analyses to compute


def plan(profile: str, seeds: int, only=None, out_dir: Path | None = None) -> Plan:
    """Every page of the profile's book (or of the chapters in `only`, and the summary) and every
    run and analysis they read, validated before anything trains."""
    out_dir = out_dir or REPO / "book" / "runs" / profile
    runs, analyses, pages = {}, {}, []
    common = dict(profile=profile, seed=0, seeds=seeds)
    for q in QUESTIONS:
        own = {}
        for c in studies_of(q, profile):
            own[c] = [run_set(q, c, profile, s) for s in range(seeds)]
            for study in own[c]:
                runs.update({r.digest(): r for r in study.values()})
                for a in q.analyses:
                    analyses.setdefault(study[a.run].digest(), set()).add(a.name)
        if only and q.chapter not in only:
            continue
        every = list({r.digest(): r for sets in own.values() for study in sets for r in study.values()}.values())
        if q.scope == "profile":
            (c, sets), = own.items()
            title = q.caption.split(" · ", 1)[-1]
            pages.append(Page(q.chapter, out_dir / f"{q.chapter}.ipynb", f"{title} ({profile})",
                              dict(dataset=c.dataset, imbalance_ratio=c.ratio, **common), every))
            continue
        for c, sets in own.items():
            pages.append(Page(q.chapter, out_dir / q.chapter / f"{c.page_name}.ipynb",
                              f"{q.id} · {c.label} ({profile})",
                              dict(dataset=c.dataset, loss=c.loss, imbalance_ratio=c.ratio, **common),
                              [r for study in sets for r in study.values()]))
        if q.key_figure is not None:
            pages.append(Page("compare", out_dir / q.chapter / "all.ipynb", f"{q.id} · every configuration ({profile})",
                              dict(q=q.id, **common), every))
    pages.append(Page("summary", out_dir / "summary.ipynb", f"Summary: every claim, every run ({profile})",
                      dict(common), list(runs.values())))
    return Plan(pages, runs, analyses)


def toc_text(profile: str = "*") -> str:
    """The table of contents, from the table of questions (`_toc.yml` is this for every profile;
    a build narrows it to its own, so two profiles' pages never mix)."""
    lines = ["# The book's table of contents, written from fraglib/questions.py by fraglib.plan.toc_text",
             "# (tests/test_book.py checks that they agree). Chapter pages are written by",
             "# `python -m fraglib book` into book/runs/<profile>/.", "format: jb-book", "root: book/intro",
             "parts:", "  - caption: Setting", "    chapters:", "      - file: book/methods",
             f"      - glob: book/runs/{profile}/summary"]
    for q in QUESTIONS:
        where = f"{q.chapter}/*" if q.scope == "configuration" else q.chapter
        lines += [f'  - caption: "{q.caption}"', "    chapters:", f"      - glob: book/runs/{profile}/{where}"]
    lines += ["  - caption: References", "    chapters:", "      - file: book/references"]
    return "\n".join(lines) + "\n"


def profile_toc(root: Path, profile: str) -> Path:
    """The table of contents of one profile's book, written beside its build."""
    path = root / "book" / "_build" / f"_toc.{profile}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(toc_text(profile))
    return path


# -- the book's numbers: every constant the prose quotes, from the code that uses it ----------------
NUMBERS_BEGIN = "<!-- the book's numbers: written by fraglib.plan.write_numbers, do not edit by hand -->"
NUMBERS_END = "<!-- end of the book's numbers -->"


def constants(q: str | None = None) -> dict[str, tuple]:
    """name -> (value, meaning): the numbers every page may quote (the interval's level, the
    resamples, the agreement level, the regime rule) and, with `q`, that question's own
    (`Question.constants`: K values, coverage levels, ladders, Procrustean settings ...)."""
    from . import verdicts
    from .bootstrap import LEVEL, RESAMPLES, SMALL_N
    from .questions import question
    out = {"level": (f"{100 * LEVEL:g}%", "coverage of every interval shown"),
           "resamples": (f"{RESAMPLES:,}", "bootstrap resamples of the images; draws of a size-matched control"),
           "agree": (f"{100 * verdicts.AGREE:g}%", "share of resamples in which a claim must hold to hold beyond noise"),
           "small_n": (SMALL_N, "a proportion from fewer images gets an exact interval"),
           "regime_min": (f"{100 * verdicts.REGIME_MIN_TRAIN_ACC:g}%", "the regime: clean training accuracy, every class"),
           "regime_small": (verdicts.REGIME_SMALL_CLASS, "the regime: a class of fewer images may miss one"),
           "regime_rule": (verdicts.REGIME_RULE, "the regime, as one sentence")}
    if q:
        out.update(question(q).constants)
    return out


def numbers_table() -> str:
    """Every constant of `constants`, the book's and each question's, as a markdown table."""
    rows = [("every page", name, value, meaning) for name, (value, meaning) in constants().items()]
    rows += [(q.id, name, value, meaning) for q in QUESTIONS for name, (value, meaning) in q.constants.items()]
    lines = ["| where | name | value | meaning |", "|---|---|---|---|"]
    lines += [f"| {w} | `{n}` | {v} | {m} |" for w, n, v, m in rows]
    return "\n".join([NUMBERS_BEGIN, *lines, NUMBERS_END])


def write_numbers(path: Path = REPO / "book" / "methods.md") -> bool:
    """Put `numbers_table` into the methods page between its markers; True when it changed."""
    text = Path(path).read_text()
    start, end = text.index(NUMBERS_BEGIN), text.index(NUMBERS_END) + len(NUMBERS_END)
    new = text[:start] + numbers_table() + text[end:]
    if new != text:
        Path(path).write_text(new)
    return new != text
