"""ledger.py: the claims ledger is written by the build from the summary page it publishes, and
checked against it on every build."""
from __future__ import annotations

import json

from fraglib import ledger

ROWS = [{"question": "RQ1", "claim": "a", "configuration": "c", "seeds": "0-2", "seeds read": "3", "paper": "–",
         "ours": "1", "resamples holding": "99.0%", "verdict": "robust", "verdict (seed 0)": "holds",
         "verdicts by seed": "holds · holds · holds", "holds in (seeds)": "3 of 3 seeds",
         "robustness": "robust to the choices", "turns on": "–", "specifications holding": "100% of 1", "runs": "r",
         "code": "fraglib x"}]


def page(path, rows):
    """An executed summary page as the build finds it (the removed cell's output holds the rows)."""
    output = {"output_type": "display_data", "metadata": {}, "data": {ledger.MIME: {ledger.KEY: rows}}}
    nb = {"cells": [{"cell_type": "code", "source": "", "metadata": {}, "outputs": [output]}], "metadata": {},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))
    return path


def test_the_ledger_is_written_from_the_page_and_mended_on_every_build(tmp_path):
    summary = page(tmp_path / "summary.ipynb", ROWS)
    assert ledger.publish(summary, tmp_path) == "written"
    assert ledger.read(tmp_path) == ROWS == ledger.read(tmp_path / ledger.CSV)
    assert ledger.publish(summary, tmp_path) == "unchanged"
    # probes: a kill between the two files' renames, and a hand-run page's one-seed ledger, left a
    # ledger that disagreed with the summary page; the next build (0 pages executed) published it
    (tmp_path / ledger.CSV).write_text("question,claim\nRQ1,other\n")
    assert ledger.publish(summary, tmp_path) == "written" and ledger.read(tmp_path / ledger.CSV) == ROWS
    (tmp_path / ledger.JSON).unlink()
    assert ledger.publish(summary, tmp_path) == "written" and ledger.read(tmp_path) == ROWS
    assert ledger.publish(tmp_path / "no-such-page.ipynb", tmp_path) == "no summary page"


def test_the_summary_chapter_writes_no_ledger_itself():
    """The chapter hands its rows to the build; run by hand (papermill), it writes no file."""
    from fraglib.plan import notebook
    source = notebook("summary").read_text()
    assert "hand_ledger_to_build" in source and "write_ledger" not in source
    assert "to_csv" not in source and "write_text" not in source


def test_a_build_keeps_the_previous_ledger_and_the_diff_names_what_moved(tmp_path, capsys):
    from fraglib.__main__ import main
    summary = page(tmp_path / "summary.ipynb", ROWS)
    ledger.publish(summary, tmp_path)
    moved = [dict(ROWS[0], verdict="mixed", **{"holds in (seeds)": "2 of 3 seeds"}),
             dict(ROWS[0], claim="b", verdict="robust")]
    page(summary, moved)
    assert ledger.publish(summary, tmp_path) == "written"
    assert ledger.read(tmp_path / ledger.PREVIOUS[ledger.JSON]) == ROWS        # the build before, kept
    assert main(["diff", str(tmp_path / ledger.PREVIOUS[ledger.CSV]), str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "RQ1:" in out and "verdict: robust -> mixed" in out and "+ c | b" in out
    assert "1 rows changed, 1 added, 0 removed" in out
    assert main(["diff", str(tmp_path), str(tmp_path / ledger.CSV)]) == 0
    assert "the two ledgers agree" in capsys.readouterr().out
    # a book's root folder (what --root names) finds its one profile's ledger; two profiles: a choice to make
    books = tmp_path / "root" / "book" / "runs"
    (books / "quick").mkdir(parents=True)
    (books / "quick" / ledger.JSON).write_text((tmp_path / ledger.JSON).read_text())
    assert main(["diff", str(tmp_path / "root"), str(tmp_path)]) == 0
    (books / "paper").mkdir()
    (books / "paper" / ledger.JSON).write_text("[]")
    assert main(["diff", str(tmp_path / "root"), str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "holds the ledgers of 2 books: give one of" in err and "runs/paper" in err and "runs/quick" in err
