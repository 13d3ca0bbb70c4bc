"""What a change did to the multiverse of a profile's book: two builds' claims-multiverse.csv
(one row per claim, configuration, seed and specification) and their ledgers' robustness columns.

    python benchmarks/multiverse_changes.py OLD_BOOK_RUNS_DIR NEW_BOOK_RUNS_DIR > benchmarks/multiverse_changes_<what>.txt

Each argument is a book's runs folder (book/runs/<profile>, holding claims-multiverse.csv and
claims-ledger.csv). Prints: rows added and removed (by the choices their specification names),
rows whose verdict moved (by specification, with old -> new), and the ledger rows whose
robustness class or deciding choices moved (old -> new).
"""
from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

KEY = ("question", "configuration", "claim", "seed", "specification")


def keyed(path: Path, key: tuple) -> dict:
    """A CSV's rows by `key`, a repeated key numbered in file order (two claims can share a text)."""
    seen: Counter = Counter()
    out = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            k = tuple(r[c] for c in key)
            seen[k] += 1
            out[k + (seen[k],)] = r
    return out


def rows(path: Path) -> dict:
    return keyed(path, KEY)


def choices_of(spec: str) -> str:
    """The choice names a specification label departs from the default on ("default" for none)."""
    if spec == "default":
        return "default"
    return ", ".join(sorted({part.split("=")[0].strip() for part in spec.split(", ") if "=" in part}))


def main(old_dir: str, new_dir: str) -> int:
    old, new = rows(Path(old_dir) / "claims-multiverse.csv"), rows(Path(new_dir) / "claims-multiverse.csv")
    added, removed = set(new) - set(old), set(old) - set(new)
    print(f"multiverse rows: {len(old)} -> {len(new)} ({len(added)} added, {len(removed)} removed)")
    for name, keys in (("added", added), ("removed", removed)):
        if keys:
            print(f"  {name}, by the choices their specification departs on: "
                  f"{dict(Counter(choices_of(k[4]) for k in keys).most_common())}")
    moved = [(k, old[k]["verdict"], new[k]["verdict"]) for k in sorted(set(old) & set(new))
             if old[k]["verdict"] != new[k]["verdict"]]
    print(f"rows present in both whose verdict moved: {len(moved)}")
    if moved:
        print(f"  by specification: {dict(Counter(k[4] for k, *_ in moved).most_common())}")
        for (q, cfg, claim, seed, spec, _), a, b in moved:
            print(f"  {q} | {cfg} | seed {seed} | {spec} | {claim[:90]} | {a} -> {b}")
    led_key = ("question", "configuration", "claim")
    lo, ln = keyed(Path(old_dir) / "claims-ledger.csv", led_key), keyed(Path(new_dir) / "claims-ledger.csv", led_key)
    verdicts = [(k, lo[k]["verdict"], ln[k]["verdict"]) for k in sorted(set(lo) & set(ln))
                if lo[k]["verdict"] != ln[k]["verdict"]]
    print(f"ledger rows: {len(lo)} -> {len(ln)}; verdicts over seeds moved: {len(verdicts)}")
    for (q, cfg, claim, _), a, b in verdicts:
        print(f"  {q} | {cfg} | {claim[:90]} | {a} -> {b}")
    robust = [(k, lo[k], ln[k]) for k in sorted(set(lo) & set(ln))
              if (lo[k].get("robustness"), lo[k].get("turns on")) != (ln[k].get("robustness"), ln[k].get("turns on"))]
    print(f"ledger rows whose robustness (class, or the choices it turns on) moved: {len(robust)}")
    for (q, cfg, claim, _), a, b in robust:
        print(f"  {q} | {cfg} | {claim[:90]} | {a.get('robustness')} [{a.get('turns on')}] -> "
              f"{b.get('robustness')} [{b.get('turns on')}]")
    counts = Counter(r.get("robustness") for r in ln.values() if r.get("robustness") != "descriptive")
    print(f"robustness of the new ledger's rows: {dict(counts.most_common())}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1].strip())
    sys.exit(main(*sys.argv[1:]))
