"""ledger.py: the claims ledger is written by the build from the summary page it publishes, and
checked against it on every build."""
from __future__ import annotations

import json

from fraglib import ledger

ROWS = [{"question": "RQ1", "claim": "a", "configuration": "c", "seeds": "0-2", "seeds read": "3", "paper": "–",
         "ours": "1", "resamples holding": "99.0%", "verdict": "robust", "verdict (seed 0)": "holds",
         "verdicts by seed": "holds · holds · holds", "holds in (seeds)": "3 of 3 seeds", "runs": "r",
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
