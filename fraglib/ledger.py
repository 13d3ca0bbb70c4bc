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
           "verdict", "verdict (seed 0)", "verdicts by seed", "holds in (seeds)", "runs", "code"]
MIME = "application/json"
KEY = "fraglib-ledger"
CSV, JSON = "claims-ledger.csv", "claims-ledger.json"


def rows(allc, code: str) -> list[dict]:
    """The summary's table of checks as the ledger's rows (plain values, the code version added)."""
    table = allc.assign(code=code)[COLUMNS]
    return json.loads(table.to_json(orient="records", force_ascii=False))


def for_build(records: list[dict]) -> None:
    """In the summary page: hand the rows to the build (a cell the book removes shows them)."""
    from IPython.display import display
    display({MIME: {KEY: records}}, raw=True)


def from_page(page: Path) -> list[dict] | None:
    """The rows an executed summary page handed over, or None (no such page, or none in it)."""
    try:
        nb = json.loads(Path(page).read_text())
    except (OSError, ValueError):
        return None
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            data = out.get("data", {}).get(MIME)
            if isinstance(data, dict) and KEY in data:
                return data[KEY]
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
    written again."""
    from .fileio import atomic_path
    records = from_page(page)
    if records is None:
        return "no summary page"
    written = False
    for name, text in texts(records).items():
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
    """A ledger's rows from a file (.json or .csv) or a book folder (its claims-ledger.json)."""
    path = Path(path)
    if path.is_dir():
        path = path / JSON
    if path.suffix == ".csv":
        import pandas as pd
        return json.loads(pd.read_csv(path, dtype=str, keep_default_na=False).to_json(orient="records"))
    return json.loads(path.read_text())
