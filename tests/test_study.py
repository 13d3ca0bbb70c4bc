"""A study: the shared balanced cross-entropy reference, and the regime the paper studies."""
from __future__ import annotations

import pytest

from fraglib.claims import sentence
from fraglib.config import pair_configs
from fraglib.questions import QUESTIONS
from fraglib.study import Study, analyse
from fraglib.verdicts import OUTSIDE, REGIME_MIN_TRAIN_ACC, RegimeCheck

from .helpers import no_training, tiny


def study_configs(*args, **kw):
    pair = pair_configs(*args, **kw)
    return pair["balanced"], pair["imbalanced"]


def test_every_loss_shares_one_balanced_cross_entropy_reference():
    ce_bal, ce_imb = study_configs("fashion-mnist", "ce", 100, "tiny")
    for loss in ("focal", "ldam-drw", "cdt"):
        bal, imb = study_configs("fashion-mnist", loss, 100, "tiny")
        assert bal == ce_bal and bal.loss == "ce" and bal.balanced  # Table 1's asterisk
        assert imb.loss == loss and imb.imbalance_ratio == 100
    own, _ = study_configs("fashion-mnist", "ldam-drw", 100, "tiny", balanced_per_loss=True)
    assert own.loss == "ldam-drw" and own.balanced and own != ce_bal
    # the step imbalance of the imbalanced run does not make a second balanced reference
    step_bal, step_imb = study_configs("fashion-mnist", "ce", 10, "tiny", imbalance_type="step")
    assert step_bal == ce_bal and step_imb.imbalance_type == "step"


def test_a_study_without_imbalance_is_refused_before_training():
    with pytest.raises(ValueError, match="imbalance_ratio must be > 1"):
        study_configs("fashion-mnist", "ce", 1, "tiny")
    with pytest.raises(ValueError, match="Unknown loss 'hinge'"):
        Study("fashion-mnist", "hinge", 100, "tiny")


def test_the_studies_of_two_losses_read_the_same_balanced_run(shared_store):
    a = Study("fashion-mnist", "ce", 100, "tiny", store=shared_store, progress=False)
    b = Study("fashion-mnist", "ldam-drw", 100, "tiny", store=shared_store, progress=False)
    assert a.balanced.folder == b.balanced.folder and a.imbalanced.folder != b.imbalanced.folder
    table = b.overview()
    assert list(table.index) == ["balanced", "imbalanced"]
    assert "ldam-drw" in table.loc["imbalanced", "configuration"]
    assert "/" not in b._repr_html_().replace("</", "")  # no machine path on a page


@pytest.mark.parametrize("acc,in_regime,worst", [
    ([1.0, 0.99, 0.94, 0.97], True, 2),
    ([1.0, 0.99, 0.939, 0.97], False, 2),
    ([0.2, 1.0, 1.0, 1.0], False, 0),
])
def test_regime_needs_every_class_fitted(acc, in_regime, worst):
    check = RegimeCheck.of({"train_class_acc": acc})
    assert check.in_regime is in_regime and check.worst_class == worst
    assert check.worst_train_acc == acc[worst] and REGIME_MIN_TRAIN_ACC == 0.94
    assert ("OUTSIDE" in check.text()) is (not in_regime)


def test_runs_outside_the_regime_get_no_verdict_on_the_paper(shared_store):
    """The tiny profile (3 epochs) never memorises its training set: every verdict says so, and
    every research question, EOS included, is checked."""
    study = Study("fashion-mnist", "ce", 100, "tiny", store=shared_store, progress=False)
    assert not study.in_regime and not study.regime()["imbalanced"].in_regime
    checks = study.claims()
    assert {c.question for c in checks} == {q.id for q in QUESTIONS if q.runs == "pair"}
    assert {c.verdict for c in checks} == {OUTSIDE}
    assert all(c.ours and c.ours != "–" for c in checks)  # our figures are still shown
    assert "outside the paper's regime" in sentence(checks)
    with pytest.raises(ValueError, match="RQ1, RQ2"):
        study.figures("RQ8")
    with pytest.raises(ValueError, match="reads a ladder study"):
        study.figures("COLLAPSE")


def test_a_derived_analysis_is_computed_again_once_its_code_changes(done, monkeypatch):
    """Probe: derived/<name>.json was keyed by options alone: an edit to eos.py or heads.py left
    the book reading the value the old code computed."""
    import fraglib.study as S
    from fraglib.figures import Analysis
    store, _ = done
    run = store.get(tiny(), train_if_missing=False)
    calls = []
    probe = Analysis("probe", "imbalanced", lambda emb, seed, **_: calls.append(seed) or len(calls), lambda **_: {})
    assert analyse(run, probe) == analyse(run, probe) == 1 and len(calls) == 1      # cached
    monkeypatch.setattr(S, "_code_of", lambda function: "edited")
    assert analyse(run, probe) == 2                                                 # computed again


def test_the_source_digest_follows_imports_and_ignores_comments(tmp_path, monkeypatch):
    import shutil

    import fraglib.provenance as F
    package = tmp_path / "fraglib"
    shutil.copytree(F.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(F, "PACKAGE", package)

    def digest():
        F.source_digest.cache_clear()
        return F.source_digest("fraglib.rq.eos")

    try:
        before = digest()
        heads = package / "heads.py"                       # imported by eos, which rq/eos.py imports
        heads.write_text(heads.read_text() + "\n# a comment\n")
        assert digest() == before
        heads.write_text(heads.read_text() + "\nEXTRA = 1\n")
        assert digest() != before
    finally:
        monkeypatch.undo()
        F.source_digest.cache_clear()


def test_a_study_is_validated_before_anything_trains(store, monkeypatch):
    no_training(monkeypatch)
    with pytest.raises(ValueError):
        Study("fashion-mnist", "ce", 0, "tiny", store=store, progress=False)
    assert not any(store.root.glob("**/config.json"))
