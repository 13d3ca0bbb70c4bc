"""What a run is: one frozen, validated configuration.

A `RunConfig` names everything that changes a trained model: the data (dataset, imbalance,
which images are kept), the loss, the network and the training regime. Its `key()` is the
run store's folder name and its `digest()` the hash that makes the folder unique. Every
name is checked on construction, and a wrong one fails with the list of valid choices.

Profiles are the training regimes: `paper` is Cao et al.'s (LDAM-DRW) regime that the paper
follows (book/methods.md, "The regime"); `quick` finishes the Fashion-MNIST matrix on a 2-core CPU in minutes;
`tiny` is for tests and CI (a few seconds a run, on a subsample).
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from collections.abc import Hashable
from dataclasses import dataclass, field

from .device import resolve_precision

DATASETS = ("fashion-mnist", "cifar10", "svhn", "celeba")
LOSSES = ("ce", "focal", "ldam-drw", "cdt")
MODELS = ("resnet32", "resnet56", "smallnet")
IMBALANCE_TYPES = ("exp", "step")
SELECTIONS = ("val", "test")  # val: honest default; test: the paper's choose-on-test protocol
PRECISIONS = ("auto", "bf16", "fp32")  # auto: bf16 where the device runs it natively, else fp32
EXECUTORS = ("local", "slurm")         # where the book's runs train: this machine, or a Slurm job array
PROCRUSTEAN_SITES = ("none", "input", "feature")  # where Procrustean mixing happens (procrustean.py)
CLASS_ORDERS = ("paper", "reversed", "drawn")     # which class gets which size (RunConfig.order)
# Procrustean training (our interpretation, procrustean.py): where the book's chapter mixes, and how much
PROCRUSTEAN_SITE = "feature"      # input | feature (a mid-network feature map)
PROCRUSTEAN_STRENGTH = 0.5        # mixing weight of the largest class (the smallest: 0)


class BadInput(ValueError):
    """Input that names no valid choice or value: shown as one line, never a traceback (the CLI,
    and a chapter page run by papermill)."""


def check_choice(kind: str, value, choices) -> None:
    """Fail loudly, naming the valid choices (one line, before any work)."""
    if not isinstance(value, Hashable) or value not in choices:
        raise BadInput(f"Unknown {kind} {value!r}; valid choices: {', '.join(map(str, choices))}")


# -- the datasets: the facts a config is validated against (data.py loads them) ------------------
@dataclass(frozen=True)
class DatasetSpec:
    classes: tuple              # class names, index = label
    channels: int               # image channels
    size: int                   # image height = width
    mean: tuple                 # per-channel normalisation (0-1 scale)
    std: tuple
    train_per_class: int | None = None   # images drawn per class from the source (SVHN, CelebA)
    test_per_class: int | None = None


SPECS = {
    "fashion-mnist": DatasetSpec(("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                                  "sneaker", "bag", "ankle-boot"), 1, 28, (0.2860,), (0.3530,)),
    "cifar10": DatasetSpec(("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                            "ship", "truck"), 3, 32, (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    "svhn": DatasetSpec(tuple(str(d) for d in range(10)), 3, 32, (0.4377, 0.4438, 0.4728),
                        (0.1980, 0.2010, 0.1970), train_per_class=4600, test_per_class=1500),
    # Black-haired people only (the paper avoids hair colour as a shortcut); class 0 = men.
    "celeba": DatasetSpec(("man", "woman"), 3, 64, (0.5063, 0.4258, 0.3832), (0.2660, 0.2452, 0.2414),
                          train_per_class=5000, test_per_class=1000),
}
FULL_PER_CLASS = {"fashion-mnist": 6000, "cifar10": 5000}   # training images per class in the source


def uses_cosine_head(loss: str) -> bool:
    """LDAM-DRW's network ends in a cosine head (its scale times the cosine of fe and W); the others'
    in a linear one."""
    return loss == "ldam-drw"


def network_args(config: "RunConfig") -> tuple:
    """What builds a config's network (`models.build_model`): model, input channels, classes,
    whether its head is a cosine head, and that head's scale."""
    spec = SPECS[config.dataset]
    return config.model, spec.channels, len(spec.classes), uses_cosine_head(config.loss), config.ldam_scale


def source_per_class(dataset: str) -> int:
    """Training images per class before any imbalance: the drawn count, or the source's own."""
    return SPECS[dataset].train_per_class or FULL_PER_CLASS[dataset]


def max_valid_ratio(n_max: int, num_classes: int, kind: str = "exp") -> float:
    """The largest imbalance ratio whose smallest class keeps two training images (one for the
    validation hold-out, one to train on): int(n_max / ratio) >= 2, under exp and step alike."""
    return n_max / 2


def imbalance_counts(n_max: int, num_classes: int, ratio: float, kind: str = "exp") -> list[int]:
    """Images kept per class (book/methods.md, "Data"): class i keeps int(n_max * (1/ratio)**(i/(C-1))) (exp),
    or the first C//2 classes keep n_max and the rest int(n_max/ratio) (step)."""
    check_choice("imbalance type", kind, IMBALANCE_TYPES)
    if not ratio >= 1:
        raise BadInput(f"imbalance ratio must be >= 1 (1 = balanced), got {ratio}")
    C = num_classes
    if kind == "exp":
        return [int(n_max * (1.0 / ratio) ** (i / (C - 1))) for i in range(C)]
    return [n_max if i < C // 2 else int(n_max / ratio) for i in range(C)]


SEED_MAX = 2 ** 32 - 1   # numpy and torch take seeds in [0, 2**32)


def whole_number(name: str, value, minimum: int = 0, maximum: int | None = None) -> int:
    """`value` as an int, if it is a whole number in range (1, 1.0 and "1" are the same number:
    a papermill parameter or a command-line string arrives in any of these forms)."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value) if isinstance(value, str) else value
        as_int = int(number)
        ok = as_int == number
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok or as_int < minimum or (maximum is not None and as_int > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise BadInput(f"{name} must be a whole number {bound}, got {value!r}")
    return as_int


@dataclass(frozen=True)
class Regime:
    """A training regime. Epoch numbers count from 0; milestones are epochs where lr drops."""

    epochs: int = 200                      # passes over the training set
    batch_size: int = 128                  # images per SGD step
    lr: float = 0.1                        # peak learning rate, reached after warm-up
    momentum: float = 0.9                  # SGD momentum
    weight_decay: float = 2e-4             # L2 penalty on all weights
    warmup_epochs: int = 5                 # lr rises linearly over these first epochs
    lr_milestones: tuple = (160, 180)      # lr is multiplied by the matching factor from here on
    lr_factors: tuple = (0.01, 0.0001)     # cumulative lr multipliers at the milestones
    drw_start_epoch: int = 160             # deferred re-weighting (LDAM-DRW) starts here
    crop_padding: int = 4                  # random crop after zero padding by this many pixels
    flip: bool = True                      # random horizontal flip
    max_per_class: int | None = None       # subsample each training class to at most this (tests)
    test_per_class: int | None = None      # subsample each test class to at most this (tests)
    val_fraction: float = 0.1              # share of each training class held out for validation
    select_from_epoch: int = 0             # the best epoch is chosen among epochs >= this one
    precision: str = "auto"                # auto (resolved per device) | bf16 autocast | fp32

    def __post_init__(self):
        check_choice("precision", self.precision, PRECISIONS)
        for name in ("epochs", "batch_size"):
            value = whole_number(name, getattr(self, name), minimum=1)
            object.__setattr__(self, name, value)
        if len(self.lr_milestones) != len(self.lr_factors):
            raise BadInput("lr_milestones and lr_factors must have the same length")
        if not 0.0 < self.val_fraction < 1.0:
            raise BadInput(f"val_fraction must lie in (0, 1), got {self.val_fraction}")
        if not 0 <= self.select_from_epoch < self.epochs:
            raise BadInput(f"select_from_epoch must lie in [0, epochs={self.epochs}), "
                             f"got {self.select_from_epoch}")

    def lr_at(self, epoch: int) -> float:
        """Learning rate for an epoch: linear warm-up, then step decay (Cao et al.)."""
        if epoch < self.warmup_epochs:
            return self.lr * (epoch + 1) / self.warmup_epochs
        factor = 1.0
        for milestone, f in zip(self.lr_milestones, self.lr_factors):
            if epoch >= milestone:
                factor = f
        return self.lr * factor


PROFILES: dict[str, Regime] = {
    # Cao et al.'s regime as used by the paper (CelebA: 50 epochs, see `regime_for`).
    "paper": Regime(select_from_epoch=160),   # the best epoch of the converged phase (after the lr drop)
    # The Fashion-MNIST matrix on a 2-core CPU in minutes, in the paper's regime (every class's
    # clean training accuracy >= 94%, one miss allowed below 20 images): 1,000 images per class
    # before the imbalance (minority: 10), no augmentation, the small net with its first two
    # convolutions strided (models.SmallExtractor), 40 epochs with Cao et al.'s shape of schedule
    # (warm-up, two lr drops, DRW from the first), the best validation epoch chosen in the last,
    # converged phase. Measured (imbalanced runs, lowest class's clean training accuracy): this
    # 100% for every loss and for step imbalance; with flips 95.8%; 30-34 epochs 33-88% (LDAM-DRW,
    # step); a 16-32-64-64 net 59-71%; selection over all epochs picked epoch 15 of focal's run, at
    # 2% (methods page, "The regime").
    "quick": Regime(epochs=40, warmup_epochs=2, lr_milestones=(32, 36), lr_factors=(0.1, 0.01),
                    drw_start_epoch=32, select_from_epoch=36, crop_padding=0, flip=False,
                    max_per_class=1000),
    # Tests and CI: seconds a run, on a class-wise subsample of the real data.
    "tiny": Regime(epochs=3, warmup_epochs=1, lr_milestones=(2,), lr_factors=(0.1,),
                   drw_start_epoch=2, crop_padding=2, max_per_class=300, test_per_class=100,
                   val_fraction=0.2, precision="fp32"),
}

# The paper's network per dataset under the paper profile; the small net elsewhere.
PAPER_MODELS = {"fashion-mnist": "resnet32", "cifar10": "resnet32", "svhn": "resnet32",
                "celeba": "resnet56"}


def default_model(profile: str, dataset: str) -> str:
    """The paper's network under the paper profile; the small net elsewhere."""
    return PAPER_MODELS[dataset] if profile == "paper" else "smallnet"


def regime_for(profile: str, dataset: str) -> Regime:
    check_choice("profile", profile, tuple(PROFILES))
    regime = PROFILES[profile]
    if profile == "paper" and dataset == "celeba":
        # The paper trains CelebA for 50 epochs; the schedule is scaled by 50/200.
        regime = dataclasses.replace(regime, epochs=50, lr_milestones=(40, 45), drw_start_epoch=40,
                                     select_from_epoch=40)
    return regime


@dataclass(frozen=True)
class RunConfig:
    """One training run. Build it with `RunConfig.make(...)`, which fills the profile's regime."""

    dataset: str = "fashion-mnist"     # cifar10 | svhn | celeba | fashion-mnist
    loss: str = "ce"                   # ce | focal | ldam-drw | cdt
    imbalance_ratio: float = 100       # n_max / n_min of the training set; 1 = balanced
    imbalance_type: str = "exp"        # exp (Cao et al.) | step
    profile: str = "quick"             # tiny | quick | paper
    model: str = ""                    # resnet32 | resnet56 | smallnet; "" = the profile's choice
    seed: int = 0                      # weights, batch order and augmentation
    data_seed: int | None = None       # which images are kept (imbalance, subsample, val split); None: = seed
    class_order: str | None = None     # which class gets which size: paper | reversed | drawn (from data_seed);
                                       # None: by data_seed (0: the paper's, 1: reversed, else drawn)
    selection: str = "val"             # best epoch chosen on: val (held-out) | test (paper's protocol)
    focal_gamma: float = 1.0           # focal loss exponent (LDAM-DRW's code uses 1)
    ldam_max_margin: float = 0.5       # LDAM margin of the smallest class
    ldam_scale: float = 30.0           # cosine head scale s
    drw_beta: float = 0.9999           # class-balanced weights' beta for DRW
    cdt_gamma: float = 0.2             # CDT temperature exponent: a_c = (n_max / n_c) ** gamma
    procrustean: str = "none"          # Procrustean mixing (our interpretation): none | input | feature
    procrustean_strength: float = PROCRUSTEAN_STRENGTH  # mixing weight of the largest class (smallest: 0)
    clean_history: bool = False        # also record, every epoch, accuracy and fe-gradients on clean train images
    regime: Regime = field(default_factory=Regime)

    def __post_init__(self):
        check_choice("dataset", self.dataset, DATASETS)
        check_choice("loss", self.loss, LOSSES)
        check_choice("imbalance type", self.imbalance_type, IMBALANCE_TYPES)
        check_choice("profile", self.profile, tuple(PROFILES))
        if not self.model:  # "" = the profile's network
            object.__setattr__(self, "model", default_model(self.profile, self.dataset))
        check_choice("model", self.model, MODELS)
        if self.regime.precision == "auto":  # resolved where the config is made: part of its identity
            object.__setattr__(self, "regime",
                               dataclasses.replace(self.regime, precision=resolve_precision("auto")))
        check_choice("selection", self.selection, SELECTIONS)
        check_choice("procrustean mixing site", self.procrustean, PROCRUSTEAN_SITES)
        if not 0 <= self.procrustean_strength < 1:
            raise BadInput(f"procrustean_strength must lie in [0, 1), got {self.procrustean_strength!r}")
        if self.data_seed is None:   # one seed number varies both the network and the images it sees
            object.__setattr__(self, "data_seed", self.seed)
        for name in ("seed", "data_seed"):
            object.__setattr__(self, name, whole_number(name, getattr(self, name), 0, SEED_MAX))
        if self.class_order is None:   # the seed sets which class is rare too (book/methods.md, "Seeds")
            order = "paper" if self.data_seed == 0 else "reversed" if self.data_seed == 1 else "drawn"
            object.__setattr__(self, "class_order", order)
        check_choice("class order", self.class_order, CLASS_ORDERS)
        try:
            ratio = float(self.imbalance_ratio)
        except (TypeError, ValueError):
            ratio = float("nan")
        if not (math.isfinite(ratio) and ratio >= 1):
            raise BadInput(f"imbalance_ratio must be a finite number >= 1 (1 = balanced), "
                             f"got {self.imbalance_ratio!r}")
        object.__setattr__(self, "imbalance_ratio", ratio)
        self._check_classes_kept()

    def _check_classes_kept(self) -> None:
        """A ratio that leaves a class without a training image is an error naming the largest
        ratio that keeps one (the validation hold-out needs two per class)."""
        n_max = min(self.regime.max_per_class or 10 ** 9, source_per_class(self.dataset))
        C = len(SPECS[self.dataset].classes)
        counts = imbalance_counts(n_max, C, self.imbalance_ratio, self.imbalance_type)
        if min(counts) < 2:
            raise BadInput(f"imbalance_ratio {self.imbalance_ratio:g} leaves a class of {self.dataset} with "
                             f"{min(counts)} training image(s) ({self.profile} profile, {n_max} per class "
                             f"before the imbalance); the largest valid ratio is "
                             f"{max_valid_ratio(n_max, C, self.imbalance_type):g}")

    @classmethod
    def make(cls, dataset: str = "fashion-mnist", loss: str = "ce", imbalance_ratio: float = 100,
             profile: str = "quick", model: str | None = None, device: str | None = None,
             **overrides) -> "RunConfig":
        """The one place a run's config is made from a request: the CLI, the API, the book and
        the tests all call it, so the same request names the same run.

        The profile gives the regime and the network; `overrides` may name any RunConfig or
        Regime field, and one that is None keeps the profile's value (so a command line can
        pass every option it has). `device` (default: cuda when present, else cpu) resolves
        precision "auto": bf16 where that device runs it natively, fp32 elsewhere. Overriding
        `epochs` alone moves the window the best epoch is chosen from with it (the profile's
        share of the last epochs), never to "every epoch"."""
        check_choice("dataset", dataset, DATASETS)
        check_choice("profile", profile, tuple(PROFILES))
        overrides = {k: v for k, v in overrides.items() if v is not None}
        regime = regime_for(profile, dataset)
        regime_fields = {f.name for f in dataclasses.fields(Regime)}
        own = {f.name for f in dataclasses.fields(cls)} - {"regime"}
        unknown = sorted(set(overrides) - own - regime_fields)
        if unknown:
            raise BadInput(f"Unknown config key(s) {unknown}; valid: {sorted(own | regime_fields)}")
        regime_over = {k: overrides.pop(k) for k in list(overrides) if k in regime_fields}
        if "epochs" in regime_over and "select_from_epoch" not in regime_over:
            epochs = whole_number("epochs", regime_over["epochs"], minimum=1)
            regime_over["select_from_epoch"] = regime.select_from_epoch * epochs // regime.epochs
        regime = dataclasses.replace(regime, **regime_over)
        regime = dataclasses.replace(regime, precision=resolve_precision(regime.precision, device))
        return cls(dataset=dataset, loss=loss, imbalance_ratio=imbalance_ratio,
                   profile=profile, model=model or "", regime=regime, **overrides)

    # -- identity ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return json.loads(_identity_text(self))

    def _identity(self) -> dict:
        d = json.loads(json.dumps(dataclasses.asdict(self)))
        if self.procrustean == "none":  # runs made before the option keep their identity
            d.pop("procrustean"), d.pop("procrustean_strength")
        if not self.clean_history:
            d.pop("clean_history")
        if self.class_order == "paper":   # runs made before the option (every seed-0 run) keep their identity
            d.pop("class_order")
        return d

    def order(self) -> tuple[int, ...]:
        """The dataset's class ids by imbalance rank: order()[0] keeps the most training images
        and is relabelled 0 (the majority), order()[-1] the fewest (the minority). The paper's
        order is the identity; "reversed" swaps the two ends (the strongest contrast: the paper's
        majority becomes the minority); "drawn" is a permutation drawn from the data seed."""
        C = len(SPECS[self.dataset].classes)
        if self.class_order == "paper":
            return tuple(range(C))
        if self.class_order == "reversed":
            return tuple(reversed(range(C)))
        import numpy as np
        return tuple(int(c) for c in np.random.default_rng([self.data_seed, 1729]).permutation(C))

    @property
    def method(self) -> str:
        """The loss, and the Procrustean mixing where there is one (e.g. "ce+procrustean-input")."""
        return self.loss if self.procrustean == "none" else f"{self.loss}+procrustean-{self.procrustean}"

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        d = dict(d)
        reg = dict(d.pop("regime"))
        for k in ("lr_milestones", "lr_factors"):
            reg[k] = tuple(reg[k])
        return cls(regime=Regime(**reg), **d)

    def digest(self) -> str:
        """Hash of every field: two configs share a run folder only if they are equal."""
        return _digest(self)

    @property
    def balanced(self) -> bool:
        return self.imbalance_ratio == 1

    @property
    def seeds(self) -> str:
        """The seed as a run's name says it: "1" (network and images), or "1-data=0" where the
        images were drawn with another seed than the network's."""
        return f"{self.seed}" if self.data_seed == self.seed else f"{self.seed}-data={self.data_seed}"

    def key(self) -> str:
        """Readable relative folder: dataset/profile/ratio/loss/seed-hash."""
        ratio = "balanced" if self.balanced else f"ratio={self.imbalance_ratio:g}-{self.imbalance_type}"
        order = "" if self.class_order == "paper" else f"-order={self.class_order}"
        return (f"{self.dataset}/{self.profile}/{ratio}/loss={self.method}/"
                f"seed={self.seeds}{order}-{self.regime.precision}-{self.digest()}")

    def label(self) -> str:
        ratio = "balanced" if self.balanced else f"{self.imbalance_ratio:g}:1 {self.imbalance_type}"
        extra = " · clean history" if self.clean_history else ""
        if self.class_order != "paper":
            extra += f" · class order {self.class_order} ({','.join(map(str, self.order()))})"
        return (f"{self.dataset} · {self.method} · {ratio} · {self.profile} · {self.regime.precision} · "
                f"seed {self.seeds.replace('-data=', ', data ')}{extra}")


# profile -> the configurations (dataset, loss, imbalance ratio) of the book's papermill matrix;
# every loss of a dataset shares one balanced cross-entropy reference (pair_configs)
MATRIX = {
    "tiny": [("fashion-mnist", "ce", 100), ("fashion-mnist", "ldam-drw", 100), ("fashion-mnist", "cdt", 100)],
    "quick": [("fashion-mnist", loss, 100) for loss in ("ce", "focal", "ldam-drw", "cdt")],
    "paper": [("cifar10", loss, 100) for loss in ("ce", "focal", "ldam-drw", "cdt")]
             + [("svhn", "ce", 100), ("celeba", "ce", 20)],
}

# The Minority Collapse ladder (Fang et al.'s setting): cross-entropy runs of the matrix's first
# dataset under *step* imbalance at these ratios, beside its balanced reference (ratio 1); the
# largest is as far as the profile's data allows while a minority class keeps ten images (nine to
# train on, as the matrix's exponential minority: with fewer, the regime's one-miss allowance
# would make memorisation meaningless): tiny 300 / 30, quick 1,000 / 100, paper (CIFAR-10) 5,000 / 500
COLLAPSE_RATIOS = {"tiny": (3, 10, 30), "quick": (10, 30, 100), "paper": (10, 100, 500)}


# -- the runs a study reads: one function per kind of study (questions.py names the kind) ---------
def pair_configs(dataset: str, loss: str, imbalance_ratio: float = 100, profile: str = "quick",
                 seed: int = 0, balanced_per_loss: bool = False, **overrides) -> dict[str, RunConfig]:
    """The paper's pair: {"balanced": the balanced reference, "imbalanced": the run of this loss
    and ratio}. The reference is one cross-entropy run per dataset, profile and seed, shared by
    every loss as in the paper (Table 1's asterisk); `balanced_per_loss` trains one per loss."""
    imbalanced = RunConfig.make(dataset, loss, imbalance_ratio, profile=profile, seed=seed, **overrides)
    if imbalanced.balanced:
        raise BadInput(f"a study compares a balanced with an imbalanced run: imbalance_ratio must be "
                       f"> 1, got {imbalanced.imbalance_ratio:g}")
    ref_loss = loss if balanced_per_loss else "ce"
    ref_over = overrides if balanced_per_loss else {k: v for k, v in overrides.items()
                                                    if k not in ("imbalance_type", "data_seed")}
    balanced = RunConfig.make(dataset, ref_loss, 1, profile=profile, seed=seed, **ref_over)
    return {"balanced": balanced, "imbalanced": imbalanced}


def ladder_configs(dataset: str, loss: str = "ce", imbalance_ratio: float = 100, profile: str = "quick",
                   seed: int = 0, **overrides) -> dict[str, RunConfig]:
    """The Minority Collapse ladder: {"ratio=1": the balanced reference, "ratio=<r>": a
    cross-entropy run under step imbalance at each of the profile's COLLAPSE_RATIOS}."""
    check_choice("profile", profile, tuple(PROFILES))
    overrides = {"imbalance_type": "step", **overrides}
    out = {"ratio=1": pair_configs(dataset, "ce", COLLAPSE_RATIOS[profile][-1], profile, seed, **overrides)["balanced"]}
    for r in COLLAPSE_RATIOS[profile]:
        out[f"ratio={r:g}"] = pair_configs(dataset, "ce", r, profile, seed, **overrides)["imbalanced"]
    return out


def procrustean_configs(dataset: str, loss: str = "ce", imbalance_ratio: float = 100, profile: str = "quick",
                        seed: int = 0, site: str = PROCRUSTEAN_SITE, strength: float = PROCRUSTEAN_STRENGTH,
                        **overrides) -> dict[str, RunConfig]:
    """The Procrustean chapter's four runs: plain cross-entropy ("ce_") and Procrustean training
    ("pt_"), under exponential and step imbalance. The exponential pair, whose training dynamics
    the chapter reads, records its per-class accuracy and fe-gradients on the clean (un-mixed)
    training images every epoch; the step pair is read for test BAC only (so plain CE under step
    imbalance is the Minority Collapse ladder's run at the same ratio, trained once)."""
    mixing = {"procrustean": site, "procrustean_strength": strength}
    return {f"{method}_{kind}": pair_configs(dataset, "ce", imbalance_ratio, profile, seed, imbalance_type=kind,
                                             clean_history=kind == "exp", **(mixing if method == "pt" else {}),
                                             **overrides)["imbalanced"]
            for method in ("ce", "pt") for kind in ("exp", "step")}


RUN_SETS = {"pair": pair_configs, "ladder": ladder_configs, "procrustean": procrustean_configs}


@functools.lru_cache(maxsize=4096)
def _identity_text(config: RunConfig) -> str:
    """A config's identity as JSON text, made once per config (a build asks for it thousands of
    times: every record it verifies names its config)."""
    return json.dumps(config._identity())


@functools.lru_cache(maxsize=4096)
def _digest(config: RunConfig) -> str:
    text = json.dumps(config.to_dict(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:10]
