"""A study: the named runs one question reads, and all access to them.

A study is a set of runs of one kind (config.RUN_SETS): the paper's pair (the balanced reference
and the imbalanced run of one dataset and loss), the Minority Collapse ladder of ratios, or the
four Procrustean runs. It trains them only if the store lacks them, reads and verifies their
embeddings once, draws the bootstrap resamples once, computes the costly analyses once per run
(into the run's derived/ folder), and hands every figure function the same frozen
`figures.Record` of arrays. The figure, claims and paper tables come from `questions.py`.

The paper trains its balanced model once, with cross-entropy, and compares every loss's
imbalanced model with it (Table 1's asterisk): the pair does the same by default, so the focal
and LDAM-DRW studies share the cross-entropy balanced run of their dataset, profile and seed.
`balanced_per_loss=True` trains a balanced run with the study's own loss instead.

The seeds: a study is one seed's; `Study.per_seed()` gives the studies of seeds 0 .. seeds-1 with
the same options (figure options included), and `Study.over_seeds(q)` says, by the one rule of
`verdicts.stability`, in how many of them each claim holds: what every page and the ledger read.

The regime (book/methods.md, "The regime"): the paper's networks fit their training sets almost
perfectly, minority classes included, and its measures describe such memorising networks. A run
is *in the regime* when it passes `verdicts.RegimeCheck`; a study whose runs are not is flagged on
its pages and in its verdicts.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from functools import cached_property, lru_cache
from types import MappingProxyType

from .bootstrap import RESAMPLES, Resample, pair_resamples, sharing_draws
from .claims import Claim, judge
from .config import RUN_SETS, RunConfig, check_choice, whole_number
from .figures import Analysis, Record
from .paper import paper_figures
from . import recovery
from .fileio import write_json
from .provenance import fraglib_digest, source_digest
from .questions import QUESTIONS, question
from .runs import SELECTION_RULES, Run, RunStore
from .verdicts import RegimeCheck, across_seeds, stability

# how each kind of study draws the bootstrap resamples its figures share
RESAMPLERS = {
    "pair": lambda emb, B, seed: pair_resamples(emb["balanced"], emb["imbalanced"], B, seed),
    # the four Procrustean runs share the test set: one resample of it (paired)
    "procrustean": lambda emb, B, seed: Resample(emb["ce_exp"].y_test, emb["ce_exp"].num_classes, B, seed),
    "ladder": lambda emb, B, seed: None,          # cosines of trained weights: no resampling
}


def analyse(run: Run, analysis: Analysis, **options):
    """One costly analysis of a run, computed once into its derived/<name>.json, keyed by
    everything it reads: its options, the code that computes it (its module and every fraglib
    module that it imports, `provenance.source_digest`) and the embeddings it is computed from (their
    sha256, after they are brought up to date). An edit to that code, or to the code that extracts
    the embeddings, computes it again; an edit to a chapter does not."""
    key = {**analysis.key(**options), "code": _code_of(analysis.compute),
           "embeddings_sha256": run.current_embeddings()}   # extracted again first where their code changed
    return run.derived(analysis.name, key,
                       lambda: analysis.compute(run.embeddings(full=analysis.full), run.config.seed, **options))


def _weights(runs: dict) -> dict:
    """Which weights each run of a study reads (its folder and their sha256)."""
    return {name: (run.folder, run.model_sha256()) for name, run in runs.items()}


@lru_cache(maxsize=1)
def _fraglib_code() -> str:
    """fraglib's source digest, read once per process (a page kernel's code does not change under it)."""
    return fraglib_digest()


def _outside_code(function) -> str:
    """A function's name where fraglib's digest already covers it; `_code_of` (its source's digest)
    for one defined elsewhere (a question outside the package, a chapter's own)."""
    module = getattr(function, "__module__", "") or ""
    if module.startswith("fraglib."):
        return f"{module}.{getattr(function, '__qualname__', '')}"
    return _code_of(function)


def _code_of(function) -> str:
    """`source_digest` of a fraglib function's module; a function defined elsewhere (a chapter, a
    test), the digest of its own source."""
    module = getattr(function, "__module__", "") or ""
    if module.startswith("fraglib."):
        return source_digest(module)
    import hashlib
    import inspect
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):   # no source to read (defined at a prompt): its bytecode
        code = getattr(function, "__code__", None)
        source = f"{code.co_code.hex()} {code.co_names}" if code else type(function).__qualname__
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def prepare(config: dict, store_root: str, device: str | None = None, analyses=()) -> str:
    """Train (or load) one run, extract its embeddings and compute the named costly analyses (RQ1's
    re-trained head, EOS), so that the pages only read the store: what every executor does with a
    run (the local pool's workers, a Slurm task). Returns the run's label."""
    by_name = {a.name: a for q in QUESTIONS for a in q.analyses}
    config = RunConfig.from_dict(config)
    run = RunStore(store_root).get(config, progress=True, device=device)
    for rule in SELECTION_RULES:   # the epochs other selection rules pick, for the multiverse (where recorded)
        try:
            at = run.at(rule)
        except LookupError:
            continue
        if at is run and rule != run.selection:
            continue
        at.current_embeddings(device)      # extracted where missing or stale, not loaded
        for name in sorted(analyses):
            analyse(at, by_name[name])
    return config.label()


class Study:
    """The runs of one kind of study for one configuration and seed; trained only if the store
    lacks them. `runs="pair"` (the default) is the paper's balanced reference and imbalanced run.
    `seeds` is how many seeds the study's pages count each claim over (seeds 0 .. seeds-1)."""

    def __init__(self, dataset: str, loss: str, imbalance_ratio: float = 100, profile: str = "quick",
                 seed: int = 0, store: RunStore | None = None, progress: bool = True, runs: str = "pair",
                 n_resamples: int | None = None, seeds: int = 1, **overrides):
        check_choice("run set", runs, tuple(RUN_SETS))
        self.configs = RUN_SETS[runs](dataset, loss, imbalance_ratio, profile, seed, **overrides)  # validated
        first = next(iter(self.configs.values()))
        self.kind, self.dataset, self.loss, self.profile, self.seed = runs, dataset, loss, profile, first.seed
        self.imbalance_ratio = float(imbalance_ratio)
        self.seeds = whole_number("seeds", seeds, minimum=1)
        self.store = store or RunStore()
        self._args = dict(store=self.store, progress=progress, runs=runs, n_resamples=n_resamples,
                          seeds=self.seeds, **overrides)
        self.runs: dict[str, Run] = {name: self.store.get(c, progress=progress) for name, c in self.configs.items()}
        self.n_resamples = whole_number("n_resamples", n_resamples or RESAMPLES, minimum=1)
        self._figures: dict = {}     # (question, specification) -> figures
        self._analyses: dict = {}    # question -> its analyses' values
        self._options: dict = {}     # question id -> the figure options it was asked with
        self._siblings: dict = {self.seed: self}
        self._under: dict = {}       # model-selection rule -> this study with its runs at that rule's epochs
        self._multiverse: dict = {}  # question -> its multiverse rows

    # the pair's runs by name
    @property
    def balanced(self) -> Run:
        return self.runs["balanced"]

    @property
    def imbalanced(self) -> Run:
        return self.runs["imbalanced"]

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
        runs = "\n".join(f"  {name}: {run.config.label()}" for name, run in self.runs.items())
        return f"Study({self.kind}: {self.dataset}, {self.loss})\n{runs}"

    def regime_note(self) -> str:
        """"yes", or "NO: " and each run outside the regime with its worst class."""
        if self.in_regime:
            return "yes"
        return "NO: " + "; ".join(f"{name} run, class {r.worst_class} at {100 * r.worst_train_acc:.1f}%"
                                  for name, r in self.regime().items() if not r.in_regime)

    # -- the seed dimension: one place ---------------------------------------------------------
    def with_seed(self, seed: int) -> "Study":
        """The same study trained with another seed, with the same options (figure options too);
        each seed's study is made once."""
        if seed not in self._siblings:
            other = Study(self.dataset, self.loss, self.imbalance_ratio, self.profile, seed, **self._args)
            other._options, other._siblings = self._options, self._siblings
            self._siblings[other.seed] = other
        return self._siblings[seed]

    def per_seed(self) -> list["Study"]:
        """The studies of seeds 0 .. seeds-1 (this one among them where its seed is in range); with
        one seed, this study alone, whatever its seed."""
        return [self] if self.seeds == 1 else [self.with_seed(s) for s in range(self.seeds)]

    def claims_per_seed(self, q: str | None = None) -> dict[int, list[Claim]]:
        """Each seed's checks of a question's claims (the same checks, in the same order)."""
        return {s.seed: s.claims(q) for s in self.per_seed()}

    def over_seeds(self, q: str | None = None) -> list[str]:
        """For each claim, in how many seeds it holds: the one rule (`verdicts.stability`) that the
        chapter pages, the comparison pages, the summary and the ledger read (`seed_rows`)."""
        return [row["holds in (seeds)"] for row in self.seed_rows(q)]

    def seed_rows(self, q: str | None = None) -> list[dict]:
        """For each claim, its verdict over the seeds (`verdicts.across_seeds`: the row's verdict
        wherever several seeds are counted), in how many seeds it holds, each seed's verdict, and how
        many seeds were read."""
        per_seed = list(self.claims_per_seed(q).values())
        rows = []
        for i in range(len(per_seed[0])):
            verdict_list = [ps[i].verdict for ps in per_seed]
            rows.append({"verdict over seeds": across_seeds(verdict_list, [ps[i].observed for ps in per_seed]),
                         "holds in (seeds)": stability(verdict_list), "verdicts by seed": " · ".join(verdict_list),
                         "seeds read": len(verdict_list)})
        return rows

    # -- what the figure functions read --------------------------------------------------------
    @cached_property
    def record(self) -> Record:
        """The runs' arrays, read and verified once: embeddings, metrics (history included),
        configs, and the bootstrap resamples every figure of this study shares (drawn with the
        study's seed)."""
        emb = {name: run.embeddings() for name, run in self.runs.items()}
        resamples = getattr(self, "_resamples", None)
        if resamples is None:
            resamples = RESAMPLERS[self.kind](emb, self.n_resamples, self.seed)
        return Record(embeddings=MappingProxyType(emb),
                      metrics=MappingProxyType({name: run.metrics for name, run in self.runs.items()}),
                      configs=MappingProxyType(dict(self.configs)), resamples=resamples, seed=self.seed)

    def figures(self, q: str, spec: dict | None = None, **options):
        """The figures of one question ("RQ1" ... "RQ7", "EOS", "COLLAPSE", "PT") under a
        specification of its analysis choices (`multiverse`; None or {}: the book's defaults).
        `options` go to its analyses (EOS: k_enemies) and replace what was computed, for this study
        and every other seed's (`with_seed`); the claims then read the same figures."""
        row = question(q)
        if row.runs != self.kind:
            raise ValueError(f"{row.id} reads a {row.runs} study; this is a {self.kind} study")
        spec = self._spec(row, spec)
        if options and options != self._options.get(row.id):
            self._options[row.id] = options
            for sibling in self._siblings.values():
                sibling._analyses.pop(row.id, None)
                sibling._multiverse.pop(row.id, None)
                sibling._under.clear()
                for key in [k for k in sibling._figures if k[0] == row.id]:
                    del sibling._figures[key]
        key = (row.id, tuple(sorted(spec.items())))
        if key not in self._figures:
            if row.id not in self._analyses:     # computed once, whatever the specification
                opts = self._options.get(row.id, {})
                self._analyses[row.id] = {a.name: analyse(self.runs[a.run], a, **opts) for a in row.analyses}
            rec = dataclasses.replace(self.record, analyses=MappingProxyType(self._analyses[row.id]))
            figs = row.figures(rec, **spec) if row.choices else row.figures(rec)
            self._figures[key] = dataclasses.replace(figs, spec=spec) if spec else figs
        return self._figures[key]

    @staticmethod
    def _spec(row, spec: dict | None) -> dict:
        """A specification restricted to the question's choices, each value checked (one line
        naming the valid values)."""
        from .multiverse import choice
        spec = dict(spec or {})
        for name, value in spec.items():
            if name not in row.choices:
                raise ValueError(f"{row.id} reads no analysis choice {name!r}; its choices: "
                                 f"{', '.join(row.choices) or 'none'}")
            if value not in choice(name).values:
                raise ValueError(f"{name} = {value!r}: valid values: {', '.join(map(str, choice(name).values))}")
        return spec

    def paper(self, figs, q: str | None = None):
        """The paper's figures of the same kind as `figs` for this study's configuration, and
        where they come from (`paper.paper_figures`)."""
        row = question(q) if q else next(r for r in QUESTIONS if type(figs).__module__ == r.figures.__module__)
        return paper_figures(row.paper, type(figs), self.dataset, self.loss, next(iter(self.configs.values())).model)

    def claims(self, q: str | None = None, spec: dict | None = None) -> list[Claim]:
        """The checks of a question's claims (every question of this kind of study when None),
        under a specification of its analysis choices (None: the defaults, the book's verdicts).
        Where a run is outside the paper's regime, the paper's claims read "outside the regime"."""
        rows = [question(q)] if q else [r for r in QUESTIONS if r.runs == self.kind]
        out = []
        for r in rows:
            figs = self.figures(r.id, spec)
            out += judge(r.claims(figs, self.paper(figs, r.id)[0]), self.in_regime or not r.needs_regime)
        return out

    # -- the multiverse: every claim under every specification of its choices, every seed --------
    def under(self, rule: str) -> "Study":
        """This study with every run at the epoch another model-selection rule picks (`Run.at`:
        test-best, the paper's protocol, or the last epoch; this study itself for its own rule).
        LookupError where a run did not record that epoch."""
        if rule == self.selection:
            return self
        if rule not in self._under:
            runs = {name: run.at(rule) for name, run in self.runs.items()}
            if all(runs[name] is run for name, run in self.runs.items()):   # the same epochs: the same study
                self._under[rule] = self
                return self
            same = [s for s in self._under.values() if _weights(s.runs) == _weights(runs)]
            if same:        # the same weights as another rule's (test-best at the last epoch): one study
                self._under[rule] = same[0]
                return same[0]
            other = copy.copy(self)
            other.runs = runs
            # the same images and the same seed: the same bootstrap resamples (only the network differs),
            # their caches of means not shared (those are the other network's)
            other._resamples = sharing_draws(self.record.resamples)
            other._figures, other._analyses, other._under, other._multiverse = {}, {}, {}, {}
            other._options = dict(self._options)
            other.__dict__.pop("record", None)
            self._under[rule] = other
        return self._under[rule]

    @property
    def selection(self) -> str:
        """The model-selection rule of this study's runs (validation-best unless trained under the
        paper's protocol)."""
        return next(iter(self.runs.values())).selection

    def multiverse(self, q: str) -> list[dict]:
        """One row per claim, seed and specification (`multiverse.specifications`) of the question's
        analysis choices and the model-selection rule (every claim reads the network that rule
        picks): the claim's index and text, the seed, the specification, its verdict, what the
        comparison itself said and the share of resamples holding. A claim's row under a
        specification that differs only in choices the claim does not declare is the same
        judgement, and is kept once (under the default of those choices). A rule whose epoch a run
        did not record, or a specification its runs cannot give (EOS's schedule chosen on a
        validation split the paper's protocol does not have), is left out (its rows are missing,
        not guessed)."""
        from .multiverse import SELECTION, is_default, restrict, specifications
        row = question(q)
        if row.id in self._multiverse:
            return self._multiverse[row.id]
        memo = self._multiverse_memo(row)
        if memo is not None:
            blob = recovery.read_record(memo[0])
            if blob is not None and blob.get("key") == memo[1] and "rows" in blob:
                rows = [dict(r, choices=tuple(r["choices"])) for r in blob["rows"]]
                if self._agrees_with_todays_claims(row.id, rows):
                    self._multiverse[row.id] = rows
                    return rows
        rows = []
        for s in self.per_seed():
            for rule in SELECTION.values:
                try:
                    at = s.under(rule)
                except LookupError:
                    continue
                for spec in specifications(row.choices):
                    try:
                        judged = at.claims(row.id, spec)
                    except LookupError:   # a specification the runs cannot give (no validation split)
                        continue
                    for i, c in enumerate(judged):
                        other = {k: v for k, v in spec.items() if k not in c.choices}
                        if not is_default(other):
                            continue
                        choices = c.choices + (SELECTION.name,)
                        rows.append({"question": row.id, "index": i, "claim": c.text, "seed": s.seed,
                                     "spec": {**dict(restrict(spec, c.choices)), SELECTION.name: rule},
                                     "default": rule == s.selection and is_default(spec), "choices": choices,
                                     "verdict": c.verdict, "observed": c.observed, "support": c.support,
                                     "ours": c.ours})
        self._multiverse[row.id] = rows      # kept once complete
        if memo is not None:
            try:
                write_json({"key": memo[1], "rows": rows}, memo[0])
            except OSError:                  # a store this process may not write: computed, not kept
                pass
        return rows

    def _agrees_with_todays_claims(self, q: str, rows: list[dict]) -> bool:
        """Whether kept rows give each seed's book verdicts as this process judges them (what every
        page computes anyway): a chapter that changes a measure in its own kernel (a hypothesis
        tried without editing fraglib) does not read rows judged without the change."""
        for s in self.per_seed():
            kept = sorted((r for r in rows if r["default"] and r["seed"] == s.seed), key=lambda r: r["index"])
            if [(r["observed"], r["support"], r["ours"]) for r in kept] != [
                    (c.observed, c.support, c.ours) for c in s.claims(q)]:
                return False
        return True

    MEMO = ".multiverse"   # the store's folder of multiverse rows (`_multiverse_memo`)

    def _multiverse_memo(self, row) -> tuple | None:
        """Where a question's multiverse rows are kept in the run store, and what they follow: the
        code (fraglib's whole source, and the question's own functions where they live elsewhere),
        the resamples, and every run each seed reads under every selection rule (its folder, its
        weights' and its embeddings' sha256, the embeddings brought up to date first). Every page
        of a question and the summary read the same rows: the one that computes them first keeps
        them (the summary, run in another kernel after the chapters, reads them instead of judging
        every specification again; a chapter edit re-runs its page, not its multiverse) where their
        default rows are today's verdicts (`_agrees_with_todays_claims`). None where the question
        was asked with figure options (those are a chapter's own experiment)."""
        if self._options.get(row.id):
            return None
        seeds = []
        for s in self.per_seed():
            rules = {}
            for rule in SELECTION_RULES:
                try:
                    at = s.under(rule)
                except LookupError:
                    continue
                rules[rule] = [[name, run.folder.name, run.model_sha256(), run.current_embeddings()]
                               for name, run in at.runs.items()]
            seeds.append([s.seed, rules])
        key = json.loads(json.dumps({
            "question": row.id, "code": _fraglib_code(), "figures": _outside_code(row.figures),
            "claims": _outside_code(row.claims), "n_resamples": self.n_resamples, "kind": self.kind, "seeds": seeds}))
        name = hashlib.sha256(json.dumps([row.id, self.kind, seeds[0][1].get(self.selection)],
                                         sort_keys=True).encode()).hexdigest()[:20]
        return self.store.root / self.MEMO / row.id / f"{name}-seeds{self.seeds}.json", key

    def robustness(self, q: str) -> list:
        """Per claim of the question (in order): `multiverse.Robustness` across seeds and choices."""
        from .multiverse import robustness
        by_claim: dict = {}
        for r in self.multiverse(q):
            by_claim.setdefault(r["index"], []).append(r)
        return [robustness(rows, rows[0]["choices"]) for _, rows in sorted(by_claim.items())]
