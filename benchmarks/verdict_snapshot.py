"""Every figure and verdict of a profile's book as one JSON file, to compare two versions of the
code on the same stored runs (issue 17: the redesign changes no figure and no verdict).

    python benchmarks/verdict_snapshot.py --profile quick --out benchmarks/verdicts_before.json
    python benchmarks/verdict_snapshot.py --profile quick --compare benchmarks/verdicts_before.json

The runs are read from the store ($FRAGLIB_RUNS or runs/), trained where missing.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _plain(x):
    if isinstance(x, (np.floating, float)):
        return None if not math.isfinite(float(x)) else round(float(x), 9)
    if isinstance(x, (np.integer, int)) and not isinstance(x, bool):
        return int(x)
    if isinstance(x, np.ndarray):
        return [_plain(v) for v in x.tolist()]
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def _entry(figs, claims) -> dict:
    return {"figures": {k: _plain(v) for k, v in sorted(figs.scalars().items())},
            "claims": [[c.text, c.ours, c.verdict, _plain(c.support)] for c in claims]}


def snapshot(profile: str, seed: int = 0) -> dict:
    """{question: {configuration: {"figures": {...}, "claims": [[text, ours, verdict, support], ...]}}}"""
    from fraglib.chapter import studies
    from fraglib.questions import QUESTIONS
    out: dict = {}
    for q in QUESTIONS:
        for label, study in studies(q.id, profile, seed).items():
            out.setdefault(q.id, {})[label] = _entry(study.figures(q.id), study.claims(q.id))
    return out


# names the redesign changed (issue 17): old -> new, so that a snapshot of the old code compares
RENAMED = {"imb_bac": "bac", "k94_bal": "bal_k94", "largest_ce_ratio_bal": "bal_largest_ce_ratio"}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--profile", default="quick")
    p.add_argument("--out", default=None)
    p.add_argument("--compare", default=None)
    a = p.parse_args()
    snap = snapshot(a.profile)
    if a.out:
        Path(a.out).write_text(json.dumps(snap, indent=1, sort_keys=True) + "\n")
        print(f"wrote {a.out}: {sum(len(v) for v in snap.values())} (question, configuration) entries")
    if a.compare:
        old = json.loads(Path(a.compare).read_text(), object_hook=lambda d: {RENAMED.get(k, k): v for k, v in d.items()})
        if "COLLAPSE" in old:   # the old code keyed the ladder by its pair's label, the new by its dataset
            old["COLLAPSE"] = {label.split(" · ")[0]: v for label, v in old["COLLAPSE"].items()}
        diffs = []

        def walk(x, y, where):
            if isinstance(x, dict) and isinstance(y, dict):
                for k in sorted(set(x) | set(y)):
                    if k not in x or k not in y:
                        diffs.append(f"{where}/{k}: only in {'new' if k not in x else 'old'}")
                    else:
                        walk(x[k], y[k], f"{where}/{k}")
            elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
                for i, (u, v) in enumerate(zip(x, y)):
                    walk(u, v, f"{where}[{i}]")
            elif x != y:
                diffs.append(f"{where}: {x!r} -> {y!r}")
        walk(old, json.loads(json.dumps(snap)), "")
        print(f"{len(diffs)} difference(s) from {a.compare}")
        for d in diffs[:50]:
            print("  " + d)
        return 1 if diffs else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
