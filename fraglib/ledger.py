"""The claims ledger: every check the summary page shows, as files to cite or diff.

`book/runs/<profile>/claims-ledger.csv` and `.json` hold one row per claim and configuration: the
claim, the paper's figure, ours (seed 0's) with its interval, the row's verdict (over the seeds,
where several are read), seed 0's and every seed's verdict, in how many seeds it holds, the
digests of the runs it read and the code version. They are an output of the *build*, not of a
page: the summary page hands its rows to the build inside the executed page (a removed cell's
output, `for_build`), and `python -m fraglib book` writes both files from the very page it
publishes, and checks them against it on every build, so that a ledger can never disagree with
its summary page: not after a Ctrl-C, not after a kill between the two files, not after the
summary chapter was run by hand with papermill (a hand-run page writes no file).
"""
from __future__ import annotations

import json
from pathlib import Path

COLUMNS = ["question", "claim", "configuration", "seeds", "seeds read", "paper", "ours", "resamples holding",
           "verdict", "verdict (seed 0)", "verdicts by seed", "holds in (seeds)", "robustness", "turns on",
           "specifications holding", "runs", "code"]
LONG_KEY, LONG_CSV = "fraglib-multiverse", "claims-multiverse.csv"   # one row per claim, configuration, seed, specification
MIME = "application/json"
KEY = "fraglib-ledger"
CSV, JSON = "claims-ledger.csv", "claims-ledger.json"
PREVIOUS = {CSV: "claims-ledger.previous.csv", JSON: "claims-ledger.previous.json"}   # the build before


def rows(allc, code: str) -> list[dict]:
    """The summary's table of checks as the ledger's rows (plain values, the code version added)."""
    table = allc.assign(code=code)[COLUMNS]
    return json.loads(table.to_json(orient="records", force_ascii=False))


def for_build(records: list[dict], long: list[dict] | None = None) -> None:
    """In the summary page: hand the rows (and the multiverse's long rows) to the build (a cell the
    book removes shows them)."""
    from IPython.display import display
    display({MIME: {KEY: records, **({LONG_KEY: long} if long is not None else {})}}, raw=True)


def from_page(page: Path, key: str = KEY) -> list[dict] | None:
    """The rows an executed summary page handed over, or None (no such page, or none in it);
    `key=LONG_KEY`: the multiverse's long rows."""
    try:
        nb = json.loads(Path(page).read_text())
    except (OSError, ValueError):
        return None
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            data = out.get("data", {}).get(MIME)
            if isinstance(data, dict) and KEY in data:
                return data.get(key)
    return None


def texts(records: list[dict]) -> dict[str, str]:
    """The two files' contents, exactly as written."""
    import pandas as pd
    table = pd.DataFrame(records, columns=COLUMNS)
    return {JSON: json.dumps(records, indent=1, ensure_ascii=False) + "\n", CSV: table.to_csv(index=False)}


def publish(page: Path, folder: Path) -> str:
    """Write the ledger from the executed summary page, or check that the files on disk are its
    rows: "written", "unchanged", or "no summary page" (nothing written). Each file is replaced
    atomically; a file that disagrees with the page (a kill between the two, a hand edit) is
    written again. Where the page's rows differ from the published ones, those are kept beside
    them first (claims-ledger.previous.*), so a build can say, and a reader read again, what moved."""
    from .fileio import atomic_path
    records = from_page(page)
    if records is None:
        return "no summary page"
    try:
        published = read(Path(folder) / JSON)
    except (OSError, ValueError):
        published = None
    if published is not None and published != records:
        for name, text in texts(published).items():
            with atomic_path(Path(folder) / PREVIOUS[name]) as tmp:
                tmp.write_text(text)
    written = False
    files = texts(records)
    long = from_page(page, LONG_KEY)
    if long is not None:
        import pandas as pd
        files[LONG_CSV] = pd.DataFrame(long).to_csv(index=False)
    for name, text in files.items():
        path = Path(folder) / name
        try:
            same = path.read_text() == text
        except OSError:
            same = False
        if not same:
            with atomic_path(path) as tmp:
                tmp.write_text(text)
            written = True
    return "written" if written else "unchanged"


def read(path: Path) -> list[dict]:
    """A ledger's rows from a file (.json or .csv) or a folder (`ledger_file`)."""
    path = ledger_file(Path(path))
    if path.suffix == ".csv":
        import pandas as pd
        return json.loads(pd.read_csv(path, dtype=str, keep_default_na=False).to_json(orient="records"))
    return json.loads(path.read_text())


def ledger_file(path: Path) -> Path:
    """The ledger a path names: a file itself; in a folder, its claims-ledger.json, else the one
    ledger of a book built there (a checkout, a `--root` folder, or its book/: book/runs/<profile>/);
    where it holds books of several profiles, a ValueError naming them (one line from the CLI)."""
    if not path.is_dir() or (path / JSON).exists():
        return path / JSON if path.is_dir() else path
    found = sorted({*path.glob(f"runs/*/{JSON}"), *path.glob(f"book/runs/*/{JSON}")})
    if len(found) == 1:
        return found[0]
    if not found:
        raise ValueError(f"{path} holds no claims ledger ({JSON}, or a book's book/runs/<profile>/{JSON}): give a "
                       f"ledger file or a folder a book was built in")
    raise ValueError(f"{path} holds the ledgers of {len(found)} books: give one of "
                   + ", ".join(str(f.parent) for f in found))


KEY_FIELDS = ("question", "configuration", "claim")
COMPARED = ("verdict", "holds in (seeds)", "verdict (seed 0)", "ours", "paper")


def diff(old: list[dict], new: list[dict]) -> dict:
    """Two ledgers' rows compared by (question, configuration, claim): {"added": [...], "removed":
    [...], "changed": [(old row, new row, [fields that differ]), ...]}, in the new ledger's order."""
    def key(r):
        return tuple(str(r.get(k, "")) for k in KEY_FIELDS)
    before, after = {key(r): r for r in old}, {key(r): r for r in new}
    changed = []
    for k, r in after.items():
        if k in before:
            fields = [f for f in COMPARED if str(before[k].get(f, "")) != str(r.get(f, ""))]
            if fields:
                changed.append((before[k], r, fields))
    return {"added": [r for k, r in after.items() if k not in before],
            "removed": [r for k, r in before.items() if k not in after], "changed": changed}


VERDICT_FIELDS = {"verdict", "holds in (seeds)"}


def changed(result: dict, verdicts_only: bool = False) -> list[tuple]:
    """`diff`'s changed rows; with `verdicts_only`, those whose verdict or seed count moved (not
    only a figure)."""
    return [c for c in result["changed"] if not verdicts_only or VERDICT_FIELDS & set(c[2])]


def differs(result: dict, verdicts_only: bool = False) -> bool:
    """Whether the two ledgers differ (in their verdicts, with `verdicts_only`)."""
    return bool(changed(result, verdicts_only) or result["added"] or result["removed"])


def diff_lines(result: dict, verdicts_only: bool = False) -> list[str]:
    """`diff`'s result as text, grouped by question, old -> new side by side; `verdicts_only`
    leaves out rows where only a figure moved."""
    lines, by_q = [], {}
    for old, new, fields in changed(result, verdicts_only):
        by_q.setdefault(new["question"], []).append(
            f"  {new['configuration']} | {new['claim'][:90]}\n"
            + "".join(f"      {f}: {old.get(f, '')} -> {new.get(f, '')}\n" for f in fields).rstrip("\n"))
    for r in result["added"]:
        by_q.setdefault(r["question"], []).append(f"  + {r['configuration']} | {r['claim'][:90]}: {r.get('verdict')} "
                                                  f"({r.get('holds in (seeds)', '')})")
    for r in result["removed"]:
        by_q.setdefault(r["question"], []).append(f"  - {r['configuration']} | {r['claim'][:90]}: {r.get('verdict')}")
    for q, rows in by_q.items():
        lines.append(f"{q}:")
        lines.extend(rows)
    return lines


def summary_line(result: dict, verdicts_only: bool = False) -> str:
    if not differs(result, verdicts_only):
        return "no verdict changed" if verdicts_only else "the two ledgers agree"
    what = "verdicts changed" if verdicts_only else "rows changed"
    n = len(changed(result, verdicts_only))
    return f"{n} {what}, {len(result['added'])} added, {len(result['removed'])} removed"
