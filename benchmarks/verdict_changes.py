"""The verdicts a change moved, from two ledgers of the same profile: the counts per verdict kind
before and after, and every row whose verdict (seed 0's, or the count of seeds it holds in)
changed, with the reason the change gives for it (`REASONS`, the rules of issue 26).

    python benchmarks/verdict_changes.py OLD_LEDGER.csv NEW_LEDGER.csv > benchmarks/verdict_changes_issue26.txt

A ledger written before rows had a verdict over seeds holds seed 0's verdict in "verdict"; a later
one holds it in "verdict (seed 0)" and the row's verdict over seeds in "verdict".
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# (question, words of the claim) -> why its verdict moved (the first match wins)
REASONS = [
    ("RQ2", "drop is larger", "training accuracy is a census of the network's images, fixed in the resamples "
                              "(was: Jeffreys draws for classes under 30 images)"),
    ("RQ3", "", "top-K coverage of training predictions is a census (one network; was: Jeffreys draws whose tails "
                "read about 0.535 whatever the network)"),
    ("RQ4", "paper's factor", "Fig. 6 relative to the balanced network (new row; votes)"),
    ("RQ4", "absolute form", "Fig. 6 in the paper's absolute shares: shown, not voting (was: voting)"),
    ("RQ5", "fe, not W", "the fe / W split within one channel (invariant to a per-channel rescale)"),
    ("RQ6", "", "top-K members are non-zero features"),
    ("RQ7", "magnitudes", "the magnitude claim over the minority classes, as the paper states it"),
    ("RQ7", "size-matched", "the control judges the observed FP figure against the TP draws (not a bootstrap of FP)"),
    ("RQ7", "wider for ce", "the control judges the observed FP figure against the TP draws; non-zero top-K members"),
    ("RQ7", "", "top-K members are non-zero features"),
    ("EOS", "size-matched", "the control judges the observed minority gap against the majority's draws"),
    ("COLLAPSE", "class-mean fe", "fe centred by the mean of the class means (was: the instance-weighted mean)"),
    ("COLLAPSE", "instance-weighted", "the instance-weighted centre, shown, not voting (new row)"),
    ("PT", "most on step", "the step gain must be positive too"),
]
ORDER = "seeds 1 and 2 now give other classes the other sizes (reversed and drawn orders): other networks"


def reason(row: dict, seeds_moved: bool) -> str:
    for q, words, why in REASONS:
        if row["question"] == q and words in row["claim"]:
            return why + (f"; {ORDER}" if seeds_moved else "")
    return ORDER if seeds_moved else "its figure moved with the new rules"


def main() -> int:
    from fraglib import ledger
    old, new = ledger.read(sys.argv[1]), ledger.read(sys.argv[2])
    seed0_old = [r["verdict"] for r in old]
    seed0_new = [r.get("verdict (seed 0)", r["verdict"]) for r in new]
    print(f"# {Path(sys.argv[1]).name} -> {Path(sys.argv[2]).name}: {len(old)} -> {len(new)} rows")
    print("seed 0's verdicts, before:", dict(Counter(seed0_old)))
    print("seed 0's verdicts, after: ", dict(Counter(seed0_new)))
    print("rows over seeds, after:   ", dict(Counter(r["verdict"] for r in new)))
    print("holds in (seeds), before: ", dict(Counter(r["holds in (seeds)"] for r in old)))
    print("holds in (seeds), after:  ", dict(Counter(r["holds in (seeds)"] for r in new)))
    before = {(r["question"], r["configuration"], r["claim"]): r for r in old}
    rows = []
    for r in new:
        o = before.get((r["question"], r["configuration"], r["claim"]))
        first = r.get("verdict (seed 0)", r["verdict"])
        if o is None:
            rows.append(f"  + {r['question']} | {r['configuration']} | {r['claim'][:80]}: {first}, "
                        f"{r['holds in (seeds)']} ({reason(r, False)})")
            continue
        moved0, moved_seeds = o["verdict"] != first, o["holds in (seeds)"] != r["holds in (seeds)"]
        if moved0 or moved_seeds:
            rows.append(f"  {r['question']} | {r['configuration']} | {r['claim'][:80]}: seed 0 {o['verdict']} -> "
                        f"{first}; {o['holds in (seeds)']} -> {r['holds in (seeds)']}; over seeds {r['verdict']} "
                        f"({reason(r, moved_seeds and not moved0)})")
    gone = [k for k in before if k not in {(r["question"], r["configuration"], r["claim"]) for r in new}]
    for q, c, claim in gone:
        rows.append(f"  - {q} | {c} | {claim[:80]}: {before[(q, c, claim)]['verdict']} (the claim was reworded)")
    print(f"{len(rows)} rows moved, added or removed:")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
