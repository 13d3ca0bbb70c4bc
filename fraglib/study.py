"""A configuration of the book: a balanced reference run and an imbalanced run, and whether
both are in the regime the paper studies.

The paper trains its balanced model once, with cross-entropy, and compares every loss's
imbalanced model with it (Table 1's asterisk): `Study` does the same by default, so the
focal and LDAM-DRW studies share the cross-entropy balanced run of their dataset, profile and
seed. `balanced_per_loss=True` trains a balanced run with the study's own loss instead.

The regime (DESIGN.md): the paper's networks fit their training sets almost perfectly, minority
classes included, and its measures describe such memorising networks. A run is *in the regime*
when its clean (un-augmented) training accuracy is at least `REGIME_MIN_TRAIN_ACC` in every
class; a study whose runs are not is flagged on its pages and in its verdicts.
"""
from __future__ import annotations

from dataclasses import dataclass

from .config import RunConfig
from .runs import Run, RunStore

REGIME_MIN_TRAIN_ACC = 0.95  # clean training accuracy every class must reach (DESIGN.md)


@dataclass(frozen=True)
class RegimeCheck:
    """Whether one run memorised its training set in every class."""

    in_regime: bool
    worst_class: int            # the class with the lowest clean training accuracy
    worst_train_acc: float      # its clean training accuracy

    @classmethod
    def of(cls, metrics: dict) -> "RegimeCheck":
        acc = metrics["train_class_acc"]
        worst = min(range(len(acc)), key=acc.__getitem__)
        return cls(acc[worst] >= REGIME_MIN_TRAIN_ACC, worst, acc[worst])

    def text(self) -> str:
        state = "in the regime" if self.in_regime else "OUTSIDE the paper's regime"
        return (f"{state}: lowest clean training accuracy {100 * self.worst_train_acc:.1f}% "
                f"(class {self.worst_class}; needed >= {100 * REGIME_MIN_TRAIN_ACC:.0f}% in every class)")


def study_configs(dataset: str, loss: str, imbalance_ratio: float = 100, profile: str = "quick",
                  seed: int = 0, balanced_per_loss: bool = False, **overrides) -> tuple[RunConfig, RunConfig]:
    """The (balanced, imbalanced) configs of a study, validated before anything trains."""
    imbalanced = RunConfig.make(dataset, loss, imbalance_ratio, profile=profile, seed=seed, **overrides)
    if imbalanced.balanced:
        raise ValueError(f"a study compares a balanced with an imbalanced run: imbalance_ratio must be "
                         f"> 1, got {imbalance_ratio:g}")
    ref_loss = loss if balanced_per_loss else "ce"
    ref_over = overrides if balanced_per_loss else {k: v for k, v in overrides.items()
                                                    if k not in ("imbalance_type", "data_seed")}
    balanced = RunConfig.make(dataset, ref_loss, 1, profile=profile, seed=seed, **ref_over)
    return balanced, imbalanced


class Study:
    """The balanced reference and the imbalanced run of one dataset and loss (same profile, seed
    and regime); both are trained only if the store lacks them, and their measures computed once."""

    def __init__(self, dataset: str, loss: str, imbalance_ratio: float = 100, profile: str = "quick",
                 seed: int = 0, store: RunStore | None = None, progress: bool = True,
                 balanced_per_loss: bool = False, n_resamples: int | None = None, **overrides):
        store = store or RunStore()
        self.store = store
        bal_cfg, imb_cfg = study_configs(dataset, loss, imbalance_ratio, profile, seed,
                                         balanced_per_loss, **overrides)
        self.dataset, self.loss, self.profile, self.seed = dataset, loss, profile, imb_cfg.seed
        self.imbalance_ratio = imb_cfg.imbalance_ratio
        self._args = dict(store=store, progress=progress, balanced_per_loss=balanced_per_loss,
                          n_resamples=n_resamples, **overrides)
        self.balanced: Run = store.get(bal_cfg, progress=progress)
        self.imbalanced: Run = store.get(imb_cfg, progress=progress)
        from .bootstrap import RESAMPLES
        self.n_resamples = n_resamples or RESAMPLES
        self._figures: dict = {}
        self._embeddings = None
        self._resamples = None

    @property
    def runs(self) -> dict[str, Run]:
        return {"balanced": self.balanced, "imbalanced": self.imbalanced}

    def regime(self) -> dict[str, RegimeCheck]:
        return {name: RegimeCheck.of(run.metrics) for name, run in self.runs.items()}

    @property
    def in_regime(self) -> bool:
        return all(r.in_regime for r in self.regime().values())

    def overview(self):
        """One row per run: what it is, its test BAC, and whether it is in the regime."""
        import pandas as pd
        rows = []
        for name, run in self.runs.items():
            m, reg = run.metrics, RegimeCheck.of(run.metrics)
            rows.append({"run": name, "configuration": run.config.label(),
                         "train images": sum(m["train_counts"]), "best epoch": m["best_epoch"] + 1,
                         "test BAC (%)": round(100 * m["test_bac"], 2),
                         "lowest class train acc. (%)": round(100 * reg.worst_train_acc, 1),
                         "paper's regime": "yes" if reg.in_regime else "NO"})
        return pd.DataFrame(rows).set_index("run")

    def _repr_html_(self):
        return self.overview().to_html()

    def __repr__(self):
        return (f"Study({self.dataset}, {self.loss})\n  balanced:   {self.balanced.config.label()}\n"
                f"  imbalanced: {self.imbalanced.config.label()}")

    def regime_note(self) -> str:
        """"yes", or "NO: " and each run outside the regime with its worst class."""
        if self.in_regime:
            return "yes"
        return "NO: " + "; ".join(f"{name} run, class {r.worst_class} at {100 * r.worst_train_acc:.1f}%"
                                  for name, r in self.regime().items() if not r.in_regime)

    def embeddings(self):
        """(balanced, imbalanced) embeddings, read and verified once per study (every figure
        function reads them)."""
        if self._embeddings is None:
            self._embeddings = (self.balanced.embeddings(), self.imbalanced.embeddings())
        return self._embeddings

    def run_at(self, ratio: float, loss: str = "ce") -> Run:
        """The imbalanced run of this study's dataset, profile and seed at another ratio (and
        loss), trained if the store lacks it."""
        store = self._args["store"]
        config = study_configs(self.dataset, loss, ratio, self.profile, self.seed)[1]
        return store.get(config, progress=self._args["progress"])

    def with_seed(self, seed: int) -> "Study":
        """The same study trained with another seed (this one where the seed is its own)."""
        if seed == self.seed:
            return self
        return Study(self.dataset, self.loss, self.imbalance_ratio, self.profile, seed, **self._args)

    def resamples(self):
        """The bootstrap resamples of both runs' instances (`figures.make_resamples`), drawn once
        per study with the study's seed: every figure's interval reads the same resamples."""
        if self._resamples is None:
            from .figures import make_resamples
            self._resamples = make_resamples(*self.embeddings(), B=self.n_resamples, seed=self.seed)
        return self._resamples

    def figures(self, rq: str, **options):
        """The figures of one research question ("RQ1" ... "RQ7", "EOS"): a `figures.RQn`.
        `options` go to the figure function (EOS: k_enemies) and replace what was computed;
        the claims then read the same figures."""
        from .config import check_choice
        from .figures import FIGURES
        check_choice("research question", rq, tuple(FIGURES))
        if options or rq not in self._figures:
            self._figures[rq] = FIGURES[rq](self, **options)
        return self._figures[rq]

    def claims(self, rq: str | None = None):
        """The checks of the paper's claims for one research question, or for all of them."""
        from .claims import CHECKS, check
        return [c for q in ([rq] if rq else CHECKS) for c in check(self, q, self.figures(q))]
