"""The table of questions (questions.py, assembled from fraglib/rq/*) and the one rule for seeds:
a question of one's own is one module and one chapter, and every page reads one count of seeds."""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

from fraglib import chapter, ledger, questions
from fraglib.plan import chapters, notebook
from fraglib.study import Study

TOY = Path(__file__).resolve().parent / "toy"


def test_the_table_is_assembled_from_the_question_modules():
    ids = [q.id for q in questions.QUESTIONS]
    assert ids == ["RQ1", "RQ2", "RQ3", "RQ4", "RQ5", "RQ6", "RQ7", "EOS", "COLLAPSE", "PT"]
    assert all(q.figures.__module__ == q.claims.__module__ == f"fraglib.rq.{q.figures.__module__.split('.')[-1]}"
               for q in questions.QUESTIONS)
    with pytest.raises(ValueError, match="RQ1"):
        with questions.register(questions.BY_ID["RQ1"]):
            pass


@pytest.fixture
def toy(monkeypatch, shared_store):
    """The toy question registered here and, through FRAGLIB_QUESTIONS, in every kernel this
    test starts; its runs in the shared store (three seeds of the tiny pair)."""
    monkeypatch.syspath_prepend(str(TOY))
    monkeypatch.setenv("PYTHONPATH", f"{TOY}:{':'.join(sys.path)}")
    monkeypatch.setenv(questions.EXTRA, "toy_question")
    monkeypatch.setenv("FRAGLIB_RUNS", str(shared_store.root))
    import toy_question
    with questions.register(toy_question.QUESTION) as row:
        yield row


def test_a_question_of_ones_own_is_one_module_and_its_chapter(toy, tmp_path):
    """Registered, its chapter is found and its page is executed (in a kernel that finds the
    module through FRAGLIB_QUESTIONS), with its method's constant glued into the prose."""
    from fraglib.pages import execute
    from fraglib.plan import REPO
    assert notebook(toy.chapter) == TOY / "toy_chapter.py" and toy.chapter in chapters()
    out = tmp_path / "toy.ipynb"
    execute(chapter=toy.chapter, out=out, title="Toy (tiny)", parameters=dict(profile="tiny", seeds=3), cwd=REPO)
    page = json.loads(out.read_text())
    text = json.dumps(page)
    assert "Toy (tiny)" in text and "3 of 3 seeds" in text and "42" in text


def test_every_page_and_the_ledger_count_seeds_by_one_rule(toy, tmp_path, monkeypatch):
    """A one-network claim that holds in every seed reads "3 of 3 seeds" on the chapter page, the
    comparison page, the summary and the ledger."""
    study = Study("fashion-mnist", "ce", 100, "tiny", 0, runs="pair", seeds=3, progress=False)
    assert [c.verdict for c in study.claims("TOY")] == ["holds (one network)"]
    assert study.over_seeds("TOY") == ["3 of 3 seeds"]
    page = chapter.verdict(study, "TOY").data                                        # the chapter page
    assert list(page["holds in (seeds)"]) == ["3 of 3 seeds"]
    compared = chapter.claim_rows("TOY", {"fashion-mnist": study})                  # the comparison page
    assert [r["holds in (seeds)"] for r in compared] == ["3 of 3 seeds"]
    monkeypatch.setattr(chapter, "QUESTIONS", [toy])
    allc, _ = chapter.all_claims("tiny", 0, 3)                                       # the summary
    assert list(allc["holds in (seeds)"]) == ["3 of 3 seeds"]
    for name, text in ledger.texts(chapter.ledger_rows(allc)).items():               # the ledger
        (tmp_path / name).write_text(text)
    with open(tmp_path / "claims-ledger.csv") as f:
        assert [r["holds in (seeds)"] for r in csv.DictReader(f)] == ["3 of 3 seeds"]


def test_the_seed_studies_share_their_figure_options(shared_store):
    """The other seeds' studies are made once, with the same options (figure options included)."""
    study = Study("fashion-mnist", "ce", 100, "tiny", 0, store=shared_store, progress=False, seeds=2)
    one, two = study.per_seed()
    assert one is study and two.seed == 1 and study.with_seed(1) is two and two.with_seed(0) is study
    study._options["EOS"] = {"k_enemies": 3}
    assert two._options["EOS"] == {"k_enemies": 3}


def test_the_methods_pages_numbers_are_the_codes():
    """The table of the book's numbers on the methods page is the one the code writes, and the
    chapters' prose glues the same values (no number typed twice)."""
    from fraglib.plan import REPO, numbers_table
    assert numbers_table() in (REPO / "book" / "methods.md").read_text(), \
        "run: python -c 'from fraglib.plan import write_numbers; write_numbers()'"
    assert "10, 30, 100" in numbers_table()            # the quick ladder, as config.COLLAPSE_RATIOS holds it
