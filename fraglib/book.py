"""`python -m fraglib book`: train the matrix, execute every chapter per configuration, build.

1. Every run of the profile's matrix is trained (or loaded) here, with a progress bar per epoch,
   and its measures computed once, so the chapters only read the run store.
2. Each chapter (a Jupytext file in notebooks/) is converted in memory and executed by papermill
   once per configuration, into book/runs/<profile>/<chapter>/<dataset>-<loss>.ipynb, with a
   title of its own.
3. The summary page is executed once per profile.
4. Jupyter Book 1.x builds the static HTML into book/_build/html (charts drawn by one local
   vega bundle in book/_static, so they show offline).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tqdm.auto import tqdm

from .config import RunConfig, check_choice
from .runs import RunStore, Study

REPO = Path(__file__).resolve().parents[1]

# profile -> the configurations (dataset, loss, imbalance ratio) of its papermill matrix
MATRIX = {
    "tiny": [("fashion-mnist", "ce", 100), ("fashion-mnist", "ldam-drw", 100)],
    "quick": [("fashion-mnist", loss, 100) for loss in ("ce", "focal", "ldam-drw")],
    "paper": [("cifar10", loss, 100) for loss in ("ce", "focal", "ldam-drw")]
             + [("svhn", "ce", 100), ("celeba", "ce", 20)],
}
CHAPTERS = ["rq1_retraining", "rq2_generalization", "rq3_top_k", "rq4_ce_diversity", "rq5_weights",
            "rq6_fe_diversity", "rq7_false_positives", "eos"]
SHORT = {"rq1_retraining": "RQ1", "rq2_generalization": "RQ2", "rq3_top_k": "RQ3",
         "rq4_ce_diversity": "RQ4", "rq5_weights": "RQ5", "rq6_fe_diversity": "RQ6",
         "rq7_false_positives": "RQ7", "eos": "EOS"}
BOOK_FILES = ["_config.yml", "_toc.yml", "book/intro.md", "book/methods.md"]


def chapters() -> list[str]:
    return [c for c in CHAPTERS if (REPO / "notebooks" / f"{c}.py").exists()]


def retitle(nb, title: str) -> None:
    """Give an executed page its own title: the chapter's '# Question' becomes a subtitle."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            first, _, rest = cell.source.lstrip().partition("\n")
            cell.source = f"# {title}\n\n**{first[2:].strip()}**\n{rest}"
            return


def execute(chapter: str, out: Path, title: str, parameters: dict, cwd: Path) -> None:
    import jupytext
    import papermill as pm
    nb = jupytext.read(REPO / "notebooks" / f"{chapter}.py")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".partial.ipynb")
    executed = pm.execute_notebook(nb, str(tmp), parameters=parameters, kernel_name="python3",
                                   cwd=str(cwd), progress_bar={"leave": False, "desc": out.stem})
    retitle(executed, title)
    import nbformat
    nbformat.write(executed, str(tmp))
    os.replace(tmp, out)  # a half-executed page never replaces a good one


def build_book(profile: str = "quick", build: bool = True, only=None, root: Path | None = None,
               strict: bool = False, seed: int = 0) -> Path:
    check_choice("profile", profile, tuple(MATRIX))
    root = Path(root) if root else REPO
    if root != REPO:  # a book elsewhere (tests): copy the book's own sources
        for f in BOOK_FILES:
            (root / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / f, root / f)
    os.environ["FRAGLIB_BOOK"] = "1"
    t0 = time.time()
    store = RunStore()
    matrix = MATRIX[profile]
    print(f"[1/4] training the {profile} matrix ({2 * len(matrix)} runs; stored runs are loaded)")
    for dataset, loss, ratio in matrix:
        Study(dataset, loss, ratio, profile, seed, store=store)
    todo = [c for c in chapters() if not only or c in only]
    pages = [(c, cfg) for c in todo for cfg in matrix]
    print(f"[2/4] executing {len(pages)} chapter pages with papermill")
    out_dir = root / "book" / "runs" / profile
    for chapter, (dataset, loss, ratio) in tqdm(pages, desc="pages", unit="page"):
        ratio_txt = f"{ratio:g}:1"
        execute(chapter, out_dir / chapter / f"{dataset}-{loss}.ipynb",
                f"{SHORT[chapter]} · {dataset} · {loss} · {ratio_txt} ({profile})",
                dict(dataset=dataset, loss=loss, imbalance_ratio=float(ratio), profile=profile, seed=seed),
                cwd=root)
    print("[3/4] executing the summary page")
    execute("summary", out_dir / "summary.ipynb", f"Summary: every claim, every run ({profile})",
            dict(profile=profile, seed=seed), cwd=root)
    if build:
        print("[4/4] building the book with Jupyter Book")
        from .charts import write_vega_bundle
        write_vega_bundle(root / "book" / "_static")
        cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(root), "--path-output",
               str(root / "book"), "--builder", "html"]
        if strict:
            cmd += ["-W", "-n", "--keep-going"]
        subprocess.run(cmd, check=True)
        index = root / "book" / "_build" / "html" / "index.html"
        print(f"done in {(time.time() - t0) / 60:.1f} min: open {index}")
        return index
    return out_dir
