"""Training the book's runs on a Slurm cluster: one run per task of a submitit job array.

    python -m fraglib book --profile paper --executor slurm --partition gpu --time 240

Every run the book reads is trained (or loaded) by `study.prepare`, the same function the local
executor's workers call, so a run is the same whichever executor trains it (on the CPU, with the
same torch thread count: fraglib trains a run on one CPU thread). The run store must be on a
file system the nodes share with the submitting machine (`--runs` / FRAGLIB_RUNS), and so must
the job folder (`<store>/.slurm/`), which holds submitit's pickles and each task's logs.

Requeue and pre-emption: each task is a `submitit.helpers.Checkpointable`; when Slurm pre-empts
it or its time runs out, submitit requeues it with the same arguments, and the run resumes from
its last epoch's checkpoint. Two tasks that reach the same run never train it twice: the run
store's lock (`filelock`, fcntl locks) makes the second wait, then load. submitit requeues from a
signal handler that raises `SystemExit` wherever the task happens to be; `preemption_guard` makes
sure that exit is the one the task ends with, even when it lands in code whose clean-up fails (in
`tqdm.write`'s lock it became "cannot release un-acquired lock", and the requeued task was
reported failed).

Job states come from Slurm itself: `squeue` for queued and running tasks, submitit's result
files for finished and failed ones (its own `sacct` watcher needs job accounting, which a small
cluster may not run). A task that leaves the queue without a result has died (cancelled, out of
memory, node failure): its log says why, and it is reported, not waited for.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from .config import BadInput, RunConfig, whole_number
from .study import prepare


@dataclass(frozen=True)
class SlurmOptions:
    """What each task asks Slurm for. `defaults(profile)` fits the profile; the command line or a
    JSON file (`--slurm-config`) overrides any field."""

    partition: str | None = None        # None: the cluster's default partition
    time_min: int = 60                  # the task's time limit (a run that needs longer is requeued)
    cpus_per_task: int = 1              # CPU cores per task (CPU training uses one thread a run)
    gpus_per_task: int = 0              # GPUs per task
    mem_gb: float | None = None         # memory per task; None: the partition's default
    array_parallelism: int = 64         # at most this many tasks of the array run at once
    sbatch: tuple = ()                  # extra #SBATCH lines, e.g. ("--account=lab", "--qos=short")
    setup: tuple = ()                   # shell lines run before each task (module load ...)

    def __post_init__(self):
        for name in ("time_min", "cpus_per_task", "array_parallelism"):
            whole_number(name, getattr(self, name), minimum=1)
        whole_number("gpus_per_task", self.gpus_per_task, minimum=0)

    @classmethod
    def defaults(cls, profile: str) -> "SlurmOptions":
        """The paper profile's ResNets on one GPU each (a 200-epoch CIFAR-10 run takes well under an
        hour on a current GPU); the CPU profiles' small net on one core a run."""
        if profile == "paper":
            return cls(time_min=240, cpus_per_task=4, gpus_per_task=1, array_parallelism=32)
        return cls(time_min=60 if profile == "quick" else 15, cpus_per_task=1)

    @classmethod
    def make(cls, profile: str, path=None, **given) -> "SlurmOptions":
        """The profile's defaults, then a JSON file's fields, then the options given (None: unset)."""
        options = dataclasses.asdict(cls.defaults(profile))
        if path:
            try:
                loaded = json.loads(Path(path).read_text())
            except (OSError, ValueError) as e:
                raise BadInput(f"cannot read the Slurm options file {path}: {e}") from None
            unknown = sorted(set(loaded) - set(options))
            if unknown:
                raise BadInput(f"Unknown Slurm option(s) {unknown} in {path}; valid: {sorted(options)}")
            options.update(loaded)
        options.update({k: v for k, v in given.items() if v is not None})
        options["sbatch"], options["setup"] = tuple(options["sbatch"]), tuple(options["setup"])
        return cls(**options)

    def executor_parameters(self) -> dict:
        """submitit's update_parameters for these options."""
        params = dict(timeout_min=self.time_min, cpus_per_task=self.cpus_per_task, tasks_per_node=1,
                      slurm_array_parallelism=self.array_parallelism, name="fraglib",
                      slurm_setup=list(self.setup))
        if self.gpus_per_task:
            params["gpus_per_node"] = self.gpus_per_task
        if self.partition:
            params["slurm_partition"] = self.partition
        if self.mem_gb:
            params["mem_gb"] = self.mem_gb
        extra = {}
        for line in self.sbatch:
            key, _, value = line.lstrip("-").partition("=")
            extra[key.replace("-", "_")] = value or True
        if extra:
            params["slurm_additional_parameters"] = extra
        return params


def slurm_available(partition: str | None = None) -> str | None:
    """None where sbatch and squeue work (and `partition`, if given, is one of the cluster's);
    otherwise why not (one line, naming the cluster's partitions when the partition is wrong)."""
    for command in ("sbatch", "squeue", "sinfo"):
        if shutil.which(command) is None:
            return f"{command} is not on PATH (is this a Slurm cluster's login node?)"
    r = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True)
    if r.returncode:
        return f"squeue fails: {(r.stderr or r.stdout).strip().splitlines()[-1] if (r.stderr or r.stdout) else r.returncode}"
    if partition:
        r = subprocess.run(["sinfo", "-h", "-o", "%R"], capture_output=True, text=True)
        names = sorted(set(r.stdout.split()))
        if r.returncode == 0 and partition not in names:
            return f"no partition {partition!r} on this cluster; valid: {', '.join(names) or '(none)'}"
    return None


@contextlib.contextmanager
def preemption_guard(signum: int):
    """Within it, whatever the handler of `signum` raises (submitit's requeue: SystemExit) is what
    leaves the block, even when the code it interrupted turned it into another error on the way
    out (a `finally` or `__exit__` that fails once interrupted). A block that ends normally keeps
    its result."""
    original = signal.getsignal(signum)
    if not callable(original):
        yield
        return
    raised: list[BaseException] = []

    def handler(number, frame):
        try:
            original(number, frame)
        except BaseException as e:
            raised.append(e)
            raise

    signal.signal(signum, handler)
    try:
        yield
    except BaseException as e:
        if raised and e is not raised[0]:
            raise raised[0] from e
        raise
    finally:
        signal.signal(signum, original)


class TrainTask:
    """One array task: train (or load) one run, its embeddings and analyses. Requeued by submitit
    on pre-emption or timeout (`checkpoint`), it resumes from the run's checkpoint."""

    def __call__(self, config: dict, store_root: str, analyses: tuple) -> dict:
        import torch
        env = os.environ
        if env.get("SLURM_CPUS_PER_TASK"):
            torch.set_num_threads(int(env["SLURM_CPUS_PER_TASK"]))   # embeddings, analyses
        device = "cuda" if torch.cuda.is_available() else None
        from submitit import JobEnvironment
        with preemption_guard(getattr(signal, "SIG" + JobEnvironment.USR_SIG)):
            label = prepare(config, store_root, device, analyses)
        from .runs import RunStore
        run = RunStore(store_root).get(RunConfig.from_dict(config), train_if_missing=False)
        return {"label": label, "model_sha256": run.metrics["model_sha256"], "host": os.uname().nodename}

    def checkpoint(self, *args, **kwargs):
        from submitit.helpers import DelayedSubmission
        return DelayedSubmission(TrainTask(), *args, **kwargs)


def queue_states(job_ids: list[str]) -> dict[str, str]:
    """Each task's state in Slurm's queue ("PENDING", "RUNNING", ...); absent: not in the queue."""
    arrays = sorted({j.split("_")[0] for j in job_ids})
    if not arrays:
        return {}
    r = subprocess.run(["squeue", "-h", "-r", "-o", "%i %T", "-j", ",".join(arrays)], capture_output=True,
                       text=True)
    states = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            states[parts[0]] = parts[1]
    return states


def task_state(job, queued: dict) -> str:
    """"done" or "failed" (its result file), "queued" or "running" (`queue_states`), else "unknown"."""
    if job.paths.result_pickle.exists():
        try:
            job.result()
            return "done"
        except Exception:
            return "failed"
    if job.job_id in queued:
        return "queued" if queued[job.job_id] in ("PENDING", "CONFIGURING") else "running"
    return "unknown"


def train_on_slurm(configs: list[RunConfig], store, analyses: dict, options: SlurmOptions,
                   poll: float = 2.0, grace: float = 60.0) -> None:
    """Submit every missing run (and every run whose analyses are missing) as one job array and
    follow it to the end: a bar over the runs, a line per task that starts, ends or fails (with
    where its log is), a failed task's error in full. Raises when any task failed."""
    import submitit
    why = slurm_available(options.partition)
    if why:
        raise RuntimeError(f"--executor slurm: {why}")
    unique = list({c.digest(): c for c in configs}.values())
    folder = store.root / ".slurm"
    folder.mkdir(parents=True, exist_ok=True)
    executor = submitit.AutoExecutor(folder=folder / "%j", cluster="slurm")
    executor.update_parameters(**options.executor_parameters())
    jobs = executor.map_array(TrainTask(), [c.to_dict() for c in unique], [str(store.root)] * len(unique),
                              [tuple(sorted(analyses.get(c.digest(), ()))) for c in unique])
    labels = [c.label() for c in unique]
    tqdm.write(f"submitted {len(jobs)} runs as Slurm job array {jobs[0].job_id.split('_')[0]}; logs in "
               f"{folder}/<job id>/")
    seen: dict = {}            # task -> the state last shown
    missing_since: dict = {}
    failed = []
    with tqdm(total=len(jobs), desc="runs (slurm)", unit="run") as bar:
        pending = set(range(len(jobs)))
        while pending:
            queued = queue_states([jobs[i].job_id for i in pending])
            counts = {"queued": 0, "running": 0}
            for i in sorted(pending):
                job, state = jobs[i], task_state(jobs[i], queued)
                if state != seen.get(i):
                    seen[i] = state
                    if state == "running":
                        tqdm.write(f"running {job.job_id}: {labels[i]} (log {job.paths.stdout})")
                if state in counts:
                    counts[state] += 1
                    missing_since.pop(i, None)
                    continue
                if state == "unknown":       # out of the queue without a result: give it a moment
                    missing_since.setdefault(i, time.time())
                    if time.time() - missing_since[i] < grace:
                        continue
                    state = "failed"
                pending.discard(i)
                bar.update(1)
                if state == "done":
                    tqdm.write(f"done {job.job_id}: {labels[i]}")
                else:
                    failed.append(i)
                    tqdm.write(f"FAILED {job.job_id}: {labels[i]}\n{_error_of(job)}\n(log {job.paths.stdout})")
            bar.set_postfix(queued=counts["queued"], running=counts["running"], failed=len(failed))
            if pending:
                time.sleep(poll)
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(jobs)} Slurm tasks failed (errors above); run the same "
                           f"command again to resubmit them (finished runs are kept)")


def _error_of(job) -> str:
    """A failed task's error: its exception's text, else the end of its logs."""
    try:
        error = job.exception()
    except Exception as e:   # no result file at all
        error = e
    text = str(error) if error else ""
    if not text.strip():
        text = (job.stderr() or job.stdout() or "no log written")[-2000:]
    return "  " + "\n  ".join(text.strip().splitlines()[-25:])

