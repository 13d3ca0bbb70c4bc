"""The whole pipeline on the tiny profile: train, execute every chapter with papermill, build
the book with Sphinx warnings as errors, then check in headless Chromium, with the network
off, that every chart is drawn."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from fraglib.config import MATRIX
from fraglib.fileio import sha256
from fraglib.pages import cached_key, page_key, retitle
from fraglib.plan import plan, profile_toc, toc_text
from fraglib.questions import QUESTIONS

from .helpers import REPO

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def book(root, *args):
    env = dict(os.environ, FRAGLIB_RUNS=str(root / "runs"))
    return subprocess.run([sys.executable, "-m", "fraglib", "book", "--profile", "tiny", "--root", str(root),
                           *args], cwd=REPO, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    root = tmp_path_factory.mktemp("book")
    (root / ".pytest_cache").mkdir()                      # as a test run leaves it in the repository root
    (root / ".pytest_cache" / "README.md").write_text("# pytest cache directory #\n")
    r = book(root, "--strict")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return root / "book" / "_build" / "html"


@pytest.mark.slow
def test_every_question_has_a_titled_page_per_configuration(built_book):
    pages = plan("tiny", 1, out_dir=built_book.parents[2] / "book" / "runs" / "tiny").pages
    titles = set()
    for q in QUESTIONS:
        mine = [p for p in pages if p.chapter == q.chapter]
        assert len(mine) == (len(MATRIX["tiny"]) if q.scope == "configuration" else 1)
        for p in mine:
            page = built_book / p.out.relative_to(built_book.parents[2]).with_suffix(".html")
            title = re.search(r"<title>(.*?)</title>", page.read_text(), re.S).group(1)
            assert p.title.split(" (")[0] in html_unescape(title)
            titles.add(title)
    assert len(titles) == sum(1 for p in pages if p.chapter in {q.chapter for q in QUESTIONS})  # each its own
    summary = (built_book / "book" / "runs" / "tiny" / "summary.html").read_text()
    from fraglib import ledger   # the ledger the build published is the summary page's, to the byte
    pages = built_book.parents[2] / "book" / "runs" / "tiny"
    rows = ledger.from_page(pages / "summary.ipynb")
    assert rows and all((pages / name).read_text() == text for name, text in ledger.texts(rows).items())
    assert "does not hold" in summary or "holds" in summary
    for q in QUESTIONS:   # every question's verdicts are on the summary, the extensions' too
        assert f">{q.id}<" in summary
    procrustean = (built_book / "book" / "runs" / "tiny" / "procrustean.html").read_text()
    assert "Procrustean training, our interpretation (tiny)" in procrustean and "Verdict" in procrustean


def html_unescape(text: str) -> str:
    import html
    return html.unescape(text)


@pytest.mark.slow
def test_verdicts_and_glued_numbers_are_rendered(built_book):
    page = (built_book / "book" / "runs" / "tiny" / "rq1_retraining" / "fashion-mnist-ce.html").read_text()
    assert "Verdict" in page and re.search(
        r"claim (holds|does not fully hold|holds in direction)|outside the paper’s regime", page)
    assert "paper’s regime" in page  # every page says whether its runs are in the regime
    assert "{glue" not in page  # every glue reference was filled in
    assert re.search(r"re-trained head reaches (<[^>]+>)*\d+\.\d\d(<[^>]+>)*% balanced accuracy", page)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
@pytest.mark.slow
def test_charts_draw_offline_in_chromium(built_book, tmp_path):
    pages = sorted(built_book.glob("book/runs/tiny/**/*.html"))
    assert pages
    for page in pages:
        html = page.read_text()
        expected = html.count('class="fraglib-chart"')
        assert "cdn.jsdelivr" not in html and "https://cdn" not in html
        if not expected and 'class="math' not in html:
            continue
        dom = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",  # no network at all
             f"--user-data-dir={tmp_path / page.stem}", "--virtual-time-budget=15000", "--dump-dom",
             page.as_uri()], capture_output=True, text=True, timeout=120).stdout
        drawn = len(re.findall(r'class="fraglib-chart vega-embed"[^>]*><svg[^>]*class="marks"', dom))
        assert drawn == expected, f"{page}: {drawn} of {expected} charts drawn"
        if 'class="math' in html:  # math is typeset by the local MathJax, not left as TeX
            assert "<mjx-container" in dom, f"{page}: math not typeset offline"


def test_retitle_keeps_the_question_as_subtitle():
    import nbformat
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# RQ9: A question?\n\nText.")])
    retitle(nb, "RQ9 · data · loss")
    assert nb.cells[0].source.startswith("# RQ9 · data · loss\n\n**RQ9: A question?**")


@pytest.mark.slow
def test_pages_are_cached_and_a_damaged_page_is_made_again(built_book):
    root = built_book.parents[2]
    r = book(root, "--no-build")
    assert r.returncode == 0, r.stderr[-3000:]
    n = len(plan("tiny", 1).pages)  # configurations, comparisons, the profile pages, the summary
    assert f"executing 0 of {n} pages" in r.stdout  # nothing changed: nothing re-executed
    page = root / "book" / "runs" / "tiny" / "rq3_top_k" / "fashion-mnist-ce.ipynb"
    good = page.read_text()
    page.write_text(good[: len(good) // 2])  # a half-written page is never kept
    r = book(root, "--no-build", "--only", "rq3_top_k")
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"executing 1 of {len(MATRIX['tiny']) + 2} pages" in r.stdout   # its pages, its comparison, the summary
    assert cached_key(page) is not None and not list(page.parent.glob("*.partial.ipynb"))


def test_page_key_changes_with_source_parameters_runs_and_code(tmp_path, monkeypatch):
    import fraglib.pages as B
    (tmp_path / "notebooks").mkdir()
    src = tmp_path / "notebooks" / "rq3_top_k.py"
    src.write_text("# %%\nx = 1\n")
    monkeypatch.setattr(B, "REPO", tmp_path)
    runs = [{"config": "a", "model_sha256": "1"}]
    key = page_key("rq3_top_k", {"loss": "ce"}, runs, "code")
    assert page_key("rq3_top_k", {"loss": "ce"}, runs, "code") == key
    assert page_key("rq3_top_k", {"loss": "focal"}, runs, "code") != key
    assert page_key("rq3_top_k", {"loss": "ce"}, [{"config": "a", "model_sha256": "2"}], "code") != key
    assert page_key("rq3_top_k", {"loss": "ce"}, runs, "other code") != key
    src.write_text("# %%\nx = 2\n")
    assert page_key("rq3_top_k", {"loss": "ce"}, runs, "code") != key


def test_an_unknown_chapter_is_an_error_naming_the_chapters(tmp_path):
    r = book(tmp_path, "--only", "rq3_topk")
    assert r.returncode == 2 and "rq3_topk" in r.stderr and "rq3_top_k" in r.stderr
    assert not (tmp_path / "runs").exists()  # refused before anything trained


@pytest.mark.slow
def test_pages_show_no_machine_path_no_nan_and_their_configuration_once(built_book):
    root = built_book.parents[2]
    pages = sorted(built_book.glob("book/runs/tiny/**/*.html"))
    assert len(pages) == len(plan("tiny", 1).pages)
    for page in pages:
        html = page.read_text()
        for path in (str(root), str(REPO), os.path.expanduser("~") + "/"):
            assert path not in html, f"{page.name} prints the machine path {path}"
        assert not re.search(r">\s*(NaN|nan)\s*<", html), f"{page.name} shows NaN"
        assert "imbalance_ratio = " not in html  # neither the parameters cell nor papermill's copy
    ce = (built_book / "book" / "runs" / "tiny" / "rq3_top_k" / "fashion-mnist-ce.html").read_text()
    assert "fraglib.css" in ce  # code wraps within the page width
    assert ce.count("paper’s regime") >= 1 and "Dablain" in ce  # a citation
    # figures are numbered by Sphinx, each with its caption, under a label of the page's own
    numbers = [int(n) for n in re.findall(r'caption-number">Fig\. (\d+) ', ce)]
    assert len(numbers) == 3 and numbers == list(range(numbers[0], numbers[0] + 3))   # the multiverse's strip too
    assert 'id="tiny-rq3-top-k-fashion-mnist-ce-fig-rq3-coverage"' in ce
    assert 'id="tiny-rq3-top-k-fashion-mnist-ce-fig-rq3-multiverse"' in ce and "Across the analysis choices" in ce


@pytest.mark.slow
def test_each_research_question_has_a_page_with_every_configuration(built_book):
    page = (built_book / "book" / "runs" / "tiny" / "rq4_ce_diversity" / "all.html").read_text()
    for dataset, loss, _ in MATRIX["tiny"]:
        assert f"{dataset} · {loss}" in page and f"{dataset}-{loss}.html" in page
    assert "Every verdict" in page and "fraglib-chart" in page


def test_a_profiles_book_reads_only_its_own_pages(tmp_path):
    toc = profile_toc(tmp_path, "tiny").read_text()
    assert "book/runs/tiny/rq1_retraining/*" in toc and "book/runs/*/" not in toc


def test_the_table_of_contents_is_the_table_of_questions():
    """_toc.yml is written from questions.QUESTIONS: a question added there appears in the book."""
    assert (REPO / "_toc.yml").read_text() == toc_text(), "run: python -c 'from fraglib.plan import toc_text; " \
        "open(\"_toc.yml\", \"w\").write(toc_text())'"
    for q in QUESTIONS:
        assert q.caption in toc_text("tiny") and f"book/runs/tiny/{q.chapter}" in toc_text("tiny")


def test_chapter_code_fits_the_page_width():
    for nb in sorted((REPO / "notebooks").glob("*.py")):
        for i, line in enumerate(nb.read_text().splitlines(), 1):
            if not line.startswith("#"):
                assert len(line) <= 88, f"{nb.name}:{i} is {len(line)} characters wide"


@pytest.mark.slow
def test_seeds_count_each_claim_over_the_seeds(built_book):
    """`--seeds 2` trains seed 1 beside seed 0; the pages count in how many seeds each claim holds
    and the summary gives BAC as mean and spread."""
    root = built_book.parents[2]
    r = book(root, "--seeds", "2", "--only", "rq2_generalization", "--no-build")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    runs = root / "book" / "runs" / "tiny"
    page = (runs / "rq2_generalization" / "fashion-mnist-ce.ipynb").read_text()
    assert "holds in (seeds)" in page and "reads each claim over seeds 0 to 1" in page
    assert "verdict over seeds" in page and "verdicts by seed" in page
    summary = (runs / "summary.ipynb").read_text()
    assert "mean ± sd over 2 seeds" in summary and "holds in (seeds)" in summary
    assert "verdict (seed 0)" in summary and "direction-stable" in summary or "robust" in summary


# -- static files and temporaries ----------------------------------------------------------------------
def test_a_truncated_vega_bundle_is_written_again(tmp_path):
    """Probe: a truncated vega-bundle.js was reused, and every chart silently stopped drawing."""
    from fraglib.charts import write_vega_bundle
    path = write_vega_bundle(tmp_path)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 3])
    assert write_vega_bundle(tmp_path).read_bytes() == whole


def test_a_truncated_mathjax_is_copied_again(tmp_path):
    from fraglib.book import MATHJAX, write_mathjax
    if not MATHJAX.exists():
        pytest.skip("MathJax is not installed (bash .ci/setup fetches it)")
    path = write_mathjax(tmp_path)
    path.write_bytes(path.read_bytes()[:100])
    assert sha256(write_mathjax(tmp_path)) == sha256(MATHJAX)


@pytest.mark.slow
def test_no_chart_in_the_built_book_draws_facet_axis_titles_over_each_other(built_book):
    import json

    from .test_chapter import AXIS_CHAR_PX, facet_axis_titles
    titles = []
    for page in built_book.rglob("*.html"):
        for text in re.findall(r"var spec = (\{.*?\});\n", page.read_text()):
            titles += facet_axis_titles(json.loads(text))
    assert titles and all(len(t) * AXIS_CHAR_PX <= w for t, w in titles), titles


@pytest.mark.slow
def test_the_book_builds_with_warnings_as_errors_after_a_pytest_run(built_book):
    """Probe: after the tests, Sphinx found .pytest_cache/README.md in the repository root ("document
    isn't included in any toctree"). The built book's root held a .pytest_cache as a test run leaves it."""
    assert (built_book / "index.html").exists()
    assert not list(built_book.rglob("*pytest_cache*"))
