"""multiverse.py: every claim judged under each analysis choice the paper left open, with a
robustness class that names the choices that flip it."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fraglib import measures as M
from fraglib.multiverse import CHOICES, label, robustness, specifications
from fraglib.questions import QUESTIONS
from fraglib.study import Study
from fraglib.verdicts import CHOICE_DEPENDENT, FAILING_ALL, NOT_ROBUST, ROBUST_ALL


def rows_of(verdict_at, choices, seeds=(0, 1, 2)):
    """Synthetic multiverse rows: `verdict_at(spec, seed)` -> (verdict, observed)."""
    out = []
    for spec in specifications(choices):
        for s in seeds:
            v, o = verdict_at(spec, s)
            out.append({"spec": spec, "seed": s, "verdict": v, "observed": o})
    return out


def test_a_claim_that_flips_under_one_choice_names_that_choice():
    choices = ("fe_centre", "fig6")
    rows = rows_of(lambda spec, s: ("does not hold", "does not hold") if spec["fe_centre"] == "instance-weighted"
                   else ("holds", "holds"), choices)
    r = robustness(rows, choices)
    assert r.kind == CHOICE_DEPENDENT and r.matters == ("fe_centre",)
    assert "fe_centre = instance-weighted" in r.text and "fig6" not in r.text
    assert r.share_holding == pytest.approx(4 / 6) and r.share_by_seed == pytest.approx((4 / 6,) * 3)
    assert r.by_spec["fe_centre=instance-weighted"] == "failing" and r.by_spec["default"] == "robust"


def test_a_claim_that_holds_everywhere_reads_robust_and_one_that_never_does_failing():
    choices = ("top_k", "k_of_64")
    assert robustness(rows_of(lambda spec, s: ("holds", "holds"), choices), choices).kind == ROBUST_ALL
    assert robustness(rows_of(lambda spec, s: ("does not hold", "does not hold"), choices), choices).kind == FAILING_ALL
    # right in direction everywhere, beyond noise in one seed only: one verdict, short of robust
    mixed = robustness(rows_of(lambda spec, s: ("holds", "holds") if s == 0 else ("holds (within noise)",
                                                                                    "holds (within noise)"), choices), choices)
    assert mixed.kind == NOT_ROBUST and mixed.matters == () and "direction-stable" in mixed.text


def test_a_seed_that_flips_is_not_mistaken_for_a_choice():
    """A choice matters only when two specifications differing in it alone read differently."""
    choices = ("fp_grouping",)
    r = robustness(rows_of(lambda spec, s: ("holds", "holds") if s < 2 else ("does not hold", "does not hold"),
                           choices), choices)
    assert r.kind == NOT_ROBUST and r.matters == ()


def test_every_choice_is_declared_with_its_default_first_and_labels_name_only_departures():
    assert len({c.name for c in CHOICES}) == len(CHOICES)
    assert label({c.name: c.default for c in CHOICES}) == "default"
    assert label({"fig6": "absolute", "top_k": "runner-up"}) == "fig6=absolute"
    used = {n for q in QUESTIONS for n in q.choices} | {"selection"}   # the selection rule: every claim
    assert used == {c.name for c in CHOICES}, "a declared choice that no question reads, or the other way round"


def test_the_other_top_k_reading_on_a_hand_worked_example():
    """Two classes, H = 3: the predicted class's partial logit against the runner-up's full
    logit (K* = 2), or against the runner-up truncated at the same K (K* = 1)."""
    fe = np.array([[1.0, 1.0, 1.0]])
    W = np.array([[3.0, 1.0, 0.5], [2.0, 1.5, 0.0]])      # logits 4.5 vs 3.5; ce sorted: [3, 1, .5] vs [2, 1.5, 0]
    b = np.zeros(2)
    assert M.instance_top_k(fe, W, b)[0] == 2            # 3 < 3.5, 4 > 3.5
    assert M.instance_top_k_all(fe, W, b)[0] == 1        # 3 > 2


@pytest.mark.parametrize("q", [q.id for q in QUESTIONS if q.choices and q.runs == "pair"])
def test_the_default_specification_is_the_books_verdict_and_claims_declare_every_choice_they_read(q, shared_store):
    """Each claim's judgement under a specification equals its judgement under that
    specification restricted to the choices it declares: an undeclared dependence fails here."""
    study = Study("fashion-mnist", "ce", 100, "tiny", store=shared_store, progress=False)
    book = study.claims(q)
    rows = study.multiverse(q)
    default = [r for r in rows if r["default"]]
    assert [(r["observed"], r["support"], r["ours"]) for r in default] == [(c.observed, c.support, c.ours) for c in book]
    for spec in specifications(next(x for x in QUESTIONS if x.id == q).choices):
        for c in study.claims(q, spec):
            declared = {k: v for k, v in spec.items() if k in c.choices}
            twin = study.claims(q, declared)[study.claims(q, spec).index(c)]
            assert (c.observed, c.support, c.ours) == (twin.observed, twin.support, twin.ours), (c.text, spec)


CHOICES_BY = [(c.name, c.default) for c in CHOICES]


def test_a_bad_specification_is_one_line_naming_the_valid_values(shared_store):
    study = Study("fashion-mnist", "ce", 100, "tiny", store=shared_store, progress=False)
    with pytest.raises(ValueError, match="valid values: runner-up, all others"):
        study.figures("RQ3", {"top_k": "both"})
    with pytest.raises(ValueError, match="its choices: fig6"):
        study.figures("RQ4", {"top_k": "runner-up"})


def test_the_selection_gap_table_matches_the_runs_history(shared_store):
    """Each rule's epoch and test BAC, recomputed from the run's own history: validation-best and
    test-best inside the selection window, and the last epoch."""
    from fraglib.chapter import selection_rows
    study = Study("fashion-mnist", "ce", 100, "tiny", store=shared_store, progress=False)
    rows = selection_rows(list(study.runs.values()) + [study.imbalanced])
    assert len(rows) == 2                                   # each run once
    for run, row in zip(study.runs.values(), rows):
        hist = run.history
        window = [h for h in hist if h["epoch"] >= run.config.regime.select_from_epoch]
        val = max(window, key=lambda h: h["val_bac"])
        test = max(window, key=lambda h: h["test_bac"])
        assert row["validation-best epoch"] == val["epoch"] + 1 == run.metrics["best_epoch"] + 1
        assert row["test-best epoch"] == test["epoch"] + 1 and row["last epoch"] == len(hist)
        assert row["validation-best test BAC (%)"] == pytest.approx(100 * val["test_bac"])
        assert row["test-best test BAC (%)"] == pytest.approx(100 * test["test_bac"])
        assert row["test-best gain (pts)"] >= 0


def test_a_run_read_under_another_rule_is_that_epochs_network(shared_store):
    """The last epoch's weights give the last epoch's test BAC (as the loop measured it, fp32 on
    the tiny profile), and its analyses go to their own folder."""
    study = Study("fashion-mnist", "ce", 100, "tiny", store=shared_store, progress=False)
    run = study.imbalanced
    last = run.at("last")
    info = run.metrics["selections"]["last"]
    if last is run:
        assert info["model"] == "model.pt"
    else:
        assert last.metrics["test_bac"] == pytest.approx(info["test_bac"], abs=1e-9)
        assert last.metrics["model_sha256"] != run.metrics["model_sha256"] and last.DERIVED == "derived/last"
    assert study.under("validation-best") is study
    with pytest.raises(ValueError, match="valid values: validation-best, test-best, last"):
        run.at("best")


def test_eos_schedule_chosen_on_validation_is_judged_and_left_out_without_a_validation_split(shared_store):
    """EOS's phase 3 at the grid's point chosen on the validation split: its claims read that
    point's test BAC; a study under the paper's protocol (no validation split) has no grid, and its
    validation-chosen specifications are left out, not guessed."""
    from fraglib import eos
    study = Study("fashion-mnist", "ce", 100, "tiny", store=shared_store, progress=False)
    figs = study.figures("EOS")
    assert sum(r["chosen"] for r in figs.grid) == 2 * len(eos.GRID_SAMPLERS)
    chosen = study.figures("EOS", {"eos_schedule": "validation-chosen"})
    point, = [r for r in figs.grid if r["chosen"] and r["sampler"] == "eos" and r["phase3"] == "fine-tuned"]
    assert chosen.eos_bac == pytest.approx(100 * point["bac"])
    fixed, = [r for r in figs.grid if r["fixed"] and r["sampler"] == "eos" and r["phase3"] == "fine-tuned"]
    assert figs.eos_bac == pytest.approx(100 * fixed["bac"])       # the grid holds the fixed schedule
    assert {r["spec"].get("eos_schedule") for r in study.multiverse("EOS") if "eos_schedule" in r["choices"]} == {
        "fixed", "validation-chosen"}
    paper = Study("fashion-mnist", "ce", 100, "tiny", store=shared_store, progress=False, selection="test")
    assert paper.figures("EOS").grid == ()
    rows = paper.multiverse("EOS")
    assert rows and all(r["spec"].get("eos_schedule") != "validation-chosen" for r in rows)


def test_a_study_under_another_rule_shares_the_draws_but_not_the_cached_means(shared_store):
    """Under another selection rule the same images are drawn the same way, but a mean cached by the
    first network's figures (EOS's gap, RQ5's and RQ6's means) is not the other network's: its
    figures are the ones a study of that network alone computes."""
    import numpy as np
    first = Study("fashion-mnist", "ce", 100, "tiny", store=shared_store, progress=False)
    alone = Study("fashion-mnist", "ce", 100, "tiny", store=shared_store, progress=False)
    rules = [r for r in ("last", "test-best") if first.under(r) is not first]
    if not rules:
        pytest.skip("every rule picked the chosen epoch on this machine: no other network to read")
    rule = rules[0]
    for q in ("EOS", "RQ5", "RQ6", "RQ7"):
        first.figures(q)                                   # the chosen network's means, cached first
        theirs, own = first.under(rule).figures(q), alone.under(rule).figures(q)
        assert first.under(rule).record.resamples.train_imb.weights[0] is first.record.resamples.train_imb.weights[0]
        for name, values in own.boot.items():
            np.testing.assert_array_equal(theirs.boot[name], values, err_msg=f"{q} {name} under {rule}")


def test_multiverse_rows_are_kept_in_the_store_and_read_back_only_for_the_same_key(shared_store, monkeypatch):
    """A study's multiverse rows are kept in the store (`Study._multiverse_memo`): another
    process's study of the same runs and code reads them without judging anything (the summary's
    kernel, a re-run page); a damaged file, or another key (other resamples, a chapter's figure
    options), is judged again."""
    from fraglib.questions import question

    def study(**kw):
        return Study("fashion-mnist", "ce", 100, "tiny", store=shared_store, progress=False, **kw)
    first = study()
    rows = first.multiverse("RQ3")
    path, key = first._multiverse_memo(question("RQ3"))
    assert path.is_file() and path.parent.parent == shared_store.root / ".multiverse"
    judged = []
    real_claims = Study.claims
    monkeypatch.setattr(Study, "claims", lambda self, *a, **k: judged.append(a) or real_claims(self, *a, **k))

    def specs_judged():   # the book's own verdicts (no specification) are judged to check the rows kept
        return [a for a in judged if len(a) > 1]
    assert study().multiverse("RQ3") == rows and not specs_judged()   # read back, no specification judged
    path.write_text(path.read_text()[:-20])                          # damaged: judged again, same rows
    assert study().multiverse("RQ3") == rows and specs_judged()
    judged.clear()
    assert study(n_resamples=50).multiverse("RQ3") and specs_judged()   # another key: judged, not read
    judged.clear()
    # a measure changed in a chapter's kernel (today's verdicts differ): the rows kept are not read
    monkeypatch.setattr(Study, "claims", lambda self, *a, **k: judged.append(a) or [
        dataclasses.replace(c, ours="changed") if len(a) == 1 else c for c in real_claims(self, *a, **k)])
    assert study().multiverse("RQ3") and specs_judged()
    assert study(n_resamples=50)._multiverse_memo(question("RQ3"))[1] != key
    s = study()
    s._options["RQ3"] = {"anything": 1}
    assert s._multiverse_memo(question("RQ3")) is None               # a chapter's own experiment: not kept


def test_a_rule_that_picks_another_rules_epoch_reads_that_rules_files(tmp_path):
    """Test-best at the last epoch (5 of the quick book's 33 runs): its weights are saved once, its
    embeddings and analyses are the last epoch's files (made once), and it still reads as test-best."""
    from types import SimpleNamespace

    import torch

    from fraglib.runs import AtEpoch, Run, _selections
    from .helpers import tiny
    state = {"w": torch.ones(3)}
    result = SimpleNamespace(history=[{"epoch": e, "test_bac": 0.5 + e / 10} for e in range(4)], best_epoch=1,
                             alternatives={"last": (3, state), "test-best": (3, state)})
    sel = _selections(tiny(), result, tmp_path)
    assert sorted(p.name for p in tmp_path.glob("model-*.pt")) == ["model-last.pt"]
    assert sel["test-best"] == dict(sel["last"], same_as="last") and sel["validation-best"]["model"] == "model.pt"
    run = Run(tmp_path, tiny())
    tb, last = AtEpoch(run, "test-best", sel["test-best"]), AtEpoch(run, "last", sel["last"])
    assert (tb.embeddings_file(), tb.DERIVED, tb.model_sha256()) == (last.embeddings_file(), last.DERIVED,
                                                                      last.model_sha256())
    assert tb.selection == "test-best" and "last" in repr(last)
    result.alternatives["test-best"] = (2, {"w": torch.zeros(3)})           # an epoch of its own: its own files
    sel = _selections(tiny(), result, tmp_path)
    assert "same_as" not in sel["test-best"] and AtEpoch(run, "test-best", sel["test-best"]).DERIVED == "derived/test-best"


def test_two_rules_with_the_same_weights_read_one_study(shared_store, monkeypatch):
    """Where test-best is the last epoch (`same_as`), the study under test-best is the study under
    last: its figures and multiverse rows are computed once."""
    from fraglib.runs import AtEpoch, Run
    if Study("fashion-mnist", "ce", 100, "tiny", store=shared_store, progress=False).under("last").runs[
            "imbalanced"].selection != "last":
        pytest.skip("the last epoch is the chosen one on this machine: no other network to read")
    real_at = Run.at

    def at(self, selection):   # every run's test-best epoch made its last (as `_selections` records it)
        if selection == "test-best" and not isinstance(self, AtEpoch):
            last = real_at(self, "last")
            return self if last is self else AtEpoch(self, "test-best", dict(last._info, same_as="last"))
        return real_at(self, selection)
    monkeypatch.setattr(Run, "at", at)
    study = Study("fashion-mnist", "ce", 100, "tiny", store=shared_store, progress=False)
    tb = study.under("test-best")
    assert tb is not study and study.under("last") is tb
    assert tb.runs["imbalanced"].selection == "test-best" and tb.runs["imbalanced"].DERIVED == "derived/last"


def test_another_rules_epoch_keeps_its_full_set_apart_made_when_asked(tmp_path):
    """At another rule's epoch the main embeddings file holds no full balanced set (only RQ1's
    re-trained head reads it); `embeddings(full=True)` extracts it into a file of its own, whose
    training rows are that epoch's fe_train; RQ1's head reads it; a damaged file is extracted again."""
    from fraglib.rq.rq1 import RETRAIN, retrain_head
    from fraglib.runs import RunStore
    from fraglib.study import analyse
    from .helpers import tiny
    run = RunStore(tmp_path / "runs").get(tiny(), progress=False)
    last = run.at("last")
    assert last is not run                      # the tiny run's last epoch is not its chosen one
    with np.load(last.embeddings_file()) as z:
        assert "fe_full" not in z.files and "fe_train" in z.files
    assert last.embeddings().fe_full is None and run.embeddings().fe_full is not None
    with pytest.raises(ValueError, match="full=True"):
        retrain_head(last.embeddings(), 0)
    e = last.embeddings(full=True)
    side = run.folder / "embeddings-last-full.npz"
    assert side.exists() and e.fe_full.shape == run.embeddings().fe_full.shape
    np.testing.assert_array_equal(e.fe_full[run.data.train_index], e.fe_train)   # the same epoch's network
    assert not np.array_equal(e.fe_full, run.embeddings().fe_full)                # not the chosen epoch's
    assert analyse(last, RETRAIN) == retrain_head(e, run.config.seed)
    side.write_bytes(side.read_bytes()[:50])                                      # damaged: made again
    np.testing.assert_array_equal(last.embeddings(full=True).fe_full, e.fe_full)
