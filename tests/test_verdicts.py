"""The table of verdict kinds (verdicts.py) and the rules that read it."""
from __future__ import annotations

import pandas as pd
import pytest

from fraglib import charts, verdicts


def test_every_kind_has_its_own_colour_and_the_chart_draws_the_table():
    names, colours = [k.name for k in verdicts.ALL], [k.colour for k in verdicts.ALL]
    assert len(set(colours)) == len(colours) == len(set(names)) == len(verdicts.VERDICTS) + len(verdicts.ACROSS_SEEDS) + len(verdicts.ACROSS_CHOICES)
    scale = charts.verdict_scale().to_dict()
    assert scale["domain"] == names and scale["range"] == colours
    allc = pd.DataFrame({"verdict": names, "question": "RQ1", "configuration": "c", "claim": "x",
                         "paper": "–", "ours": "1"})
    spec = charts.verdict_bars(allc).to_dict()
    assert spec["encoding"]["color"]["scale"] == {"domain": names, "range": colours}


@pytest.mark.parametrize("per_seed,observed,expected", [
    (["holds", "holds (one network)", "holds"], None, "robust"),
    (["holds", "holds (within noise)", "direction only"], None, "direction-stable"),
    (["holds", "does not hold", "holds"], None, "mixed"),
    (["does not hold"] * 3, None, "failing"),
    (["about sample size"] * 3, ["direction only"] * 3, "direction-stable"),   # the control's own direction
    (["about sample size"] * 3, ["does not hold"] * 3, "failing"),
    (["descriptive"] * 3, ["holds"] * 3, "descriptive"),
    (["outside the regime", "holds", "holds"], None, "robust"),                # a seed outside the regime is not read
    (["outside the regime", "descriptive", "descriptive"], ["outside the regime", "holds", "does not hold"],
     "descriptive"),                                                         # ... nor makes a shown row vote
    (["holds (within noise)"], None, "holds (within noise)"),                 # one seed: its own verdict
])
def test_a_rows_verdict_is_its_verdict_over_the_seeds(per_seed, observed, expected):
    """Probe: the ledger and summary printed seed 0's verdict as the row's (LDAM RQ4 "imbalance
    widens": does not hold in seed 0, holds in 2 of 3)."""
    assert verdicts.across_seeds(per_seed, observed or per_seed) == expected


def test_the_rules_read_the_table():
    one, held, noise = verdicts.ONE_NET, verdicts.HOLDS, verdicts.NOISE
    assert verdicts.stability([held, one, noise]) == "2 of 3 seeds"
    assert verdicts.stability([one] * 3) == "3 of 3 seeds"
    assert verdicts.stability([verdicts.DESCRIPTIVE] * 2) == verdicts.DESCRIPTIVE
    assert verdicts.stability([verdicts.OUTSIDE] * 2) == verdicts.OUTSIDE
    k = verdicts.counts([held, held, verdicts.FAILS, verdicts.DESCRIPTIVE])
    assert verdicts.tally(k) == "2 hold beyond the bootstrap's noise, 1 do not hold"   # a non-voting kind is not tallied
    assert {k.name for k in verdicts.KINDS if k.counts_as_holding} == {held, one}
    assert set(verdicts.HOLDING) == {held, noise, one}


@pytest.mark.parametrize("direction,size,support,expected", [
    (True, None, 0.99, "holds"), (True, True, 0.975, "holds"), (True, None, None, "holds (one network)"),
    (True, None, 0.90, "holds (within noise)"), (True, False, 0.99, "direction only"),
    (False, True, 0.99, "does not hold")])
def test_one_checks_verdict(direction, size, support, expected):
    assert verdicts.verdict(direction, size, support) == expected


def test_the_regime_rule_is_one_sentence_from_its_numbers():
    assert f"{100 * verdicts.REGIME_MIN_TRAIN_ACC:.0f}%" in verdicts.REGIME_RULE
    assert str(verdicts.REGIME_SMALL_CLASS) in verdicts.REGIME_RULE
