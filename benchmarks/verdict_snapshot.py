"""Every figure and verdict of a profile's book as one JSON file, to compare two versions of the
code on the same stored runs (issue 17: the redesign changes no figure and no verdict).

    python benchmarks/verdict_snapshot.py --profile quick --out benchmarks/verdicts_before.json
    python benchmarks/verdict_snapshot.py --profile quick --compare benchmarks/verdicts_before.json
    python benchmarks/verdict_snapshot.py --profile quick --pages-before OLD_CHECKOUT/book/runs/quick

The last compares two builds' executed pages of the same runs: the ledger row by row (the code
column aside) and the comparison pages' "holds in (seeds)" column (reading their HTML tables
needs lxml: pip install lxml).

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


def compare_pages(before: Path, after: Path) -> list[str]:
    """The ledger and the comparison pages of two builds: what differs, one line each."""
    import io
    import pandas as pd
    lines = []
    a = pd.read_csv(before / "claims-ledger.csv").drop(columns=["code"]).fillna("")
    b = pd.read_csv(after / "claims-ledger.csv").drop(columns=["code"]).fillna("")
    same = a.shape == b.shape and not (a != b).any(axis=None)
    lines.append(f"ledger: {len(a)} -> {len(b)} rows, " + ("identical (code column aside)" if same else "DIFFERENT"))

    def table(path):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                html = "".join(out.get("data", {}).get("text/html", ""))
                if "holds in (seeds)" in html:
                    return pd.read_html(io.StringIO(html))[0]
        raise ValueError(f"{path}: no verdict table")
    changed, n = [], 0
    for old in sorted(before.glob("*/all.ipynb")):
        x, y = table(old), table(after / old.parent.name / "all.ipynb")
        for (_, r), (_, s) in zip(x.iterrows(), y.iterrows()):
            n += 1
            if (r["claim"], r["configuration"], r["verdict"]) != (s["claim"], s["configuration"], s["verdict"]):
                changed.append(f"  {old.parent.name} | {r['configuration']} | {r['claim'][:80]} | verdict "
                               f"{r['verdict']} -> {s['verdict']}")
            elif str(r["holds in (seeds)"]).removesuffix(" seeds") != str(s["holds in (seeds)"]).removesuffix(" seeds"):
                changed.append(f"  {old.parent.name} | {r['configuration']} | {r['claim'][:80]} | "
                               f"{r['holds in (seeds)']} -> {s['holds in (seeds)']} (seed 0: {r['verdict']})")
    lines.append(f"comparison pages: {n} rows; {len(changed)} changed")
    return lines + changed


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--profile", default="quick")
    p.add_argument("--out", default=None)
    p.add_argument("--compare", default=None)
    p.add_argument("--pages-before", default=None, help="another build's book/runs/<profile> folder")
    a = p.parse_args()
    if a.pages_before:
        for line in compare_pages(Path(a.pages_before), REPO / "book" / "runs" / a.profile):
            print(line)
        return 0
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
