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
import math
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
        """Every option checked where it is made, from the command line or a JSON file alike: one
        line naming the option and what it accepts (sbatch's own errors came after the build began)."""
        for name in ("time_min", "cpus_per_task", "array_parallelism"):
            whole_number(f"Slurm option {name}", getattr(self, name), minimum=1)
        whole_number("Slurm option gpus_per_task", self.gpus_per_task, minimum=0)
        if self.partition is not None and not (isinstance(self.partition, str) and self.partition.strip()
                                               and all(p.strip() for p in self.partition.split(","))):
            raise BadInput(f"Slurm option partition must be a partition's name or a comma-separated list of "
                           f"names, got {self.partition!r}")
        if self.mem_gb is not None and (isinstance(self.mem_gb, bool) or not isinstance(self.mem_gb, (int, float))
                                        or not math.isfinite(self.mem_gb) or self.mem_gb <= 0):
            raise BadInput(f"Slurm option mem_gb must be a number of gigabytes > 0, got {self.mem_gb!r}")
        for name, example in (("sbatch", '["--account=lab", "--qos=short"]'), ("setup", '["module load cuda"]')):
            lines = getattr(self, name)
            if not isinstance(lines, (list, tuple)) or not all(isinstance(x, str) and x.strip() for x in lines):
                raise BadInput(f"Slurm option {name} must be a list of lines, e.g. {example}, got {lines!r}")
        bad = [x for x in self.sbatch if not x.startswith("--") or x.startswith("--array")]
        if bad:
            raise BadInput(f"Slurm option sbatch takes long options such as --account=lab (not --array, which "
                           f"fraglib sets), got {bad}")

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
        for name in ("sbatch", "setup"):   # a list stays a list; a string is refused, not split into characters
            if isinstance(options[name], list):
                options[name] = tuple(options[name])
        return cls(**options)

    def sbatch_flags(self) -> list[str]:
        """The options as sbatch's own flags (for `sbatch --test-only`, before anything is submitted)."""
        flags = [f"--time={self.time_min}", f"--cpus-per-task={self.cpus_per_task}", "--ntasks=1"]
        if self.partition:
            flags.append(f"--partition={self.partition}")
        if self.gpus_per_task:
            flags.append(f"--gpus-per-node={self.gpus_per_task}")
        if self.mem_gb:
            flags.append(f"--mem={int(math.ceil(self.mem_gb * 1024))}M")
        return flags + list(self.sbatch)

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


def slurm_available(partition: str | None = None, options: "SlurmOptions | None" = None) -> str | None:
    """None where sbatch and squeue work, `partition` (each of a comma-separated list) is one of
    the cluster's, and sbatch accepts `options` (`sbatch --test-only`: an unknown option, or a
    task no node can ever run, is refused here, before anything is submitted); otherwise why not,
    in one line (naming the cluster's partitions when a partition is wrong)."""
    for command in ("sbatch", "squeue", "sinfo"):
        if shutil.which(command) is None:
            return f"{command} is not on PATH (is this a Slurm cluster's login node?)"
    r = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True)
    if r.returncode:
        return f"squeue fails: {(r.stderr or r.stdout).strip().splitlines()[-1] if (r.stderr or r.stdout) else r.returncode}"
    partition = partition or (options.partition if options else None)
    if partition:
        r = subprocess.run(["sinfo", "-h", "-o", "%R"], capture_output=True, text=True)
        names = sorted(set(r.stdout.split()))
        wrong = [p for p in partition.split(",") if p.strip() not in names]
        if r.returncode == 0 and wrong:
            return f"no partition {wrong[0]!r} on this cluster; valid: {', '.join(names) or '(none)'}"
    if options is not None:
        r = subprocess.run(["sbatch", "--test-only", *options.sbatch_flags(), "--wrap", "true"], capture_output=True,
                           text=True, timeout=60)
        if r.returncode:
            said = [line for line in (r.stderr or r.stdout).strip().splitlines() if line.strip()]
            return f"sbatch refuses these options ({' '.join(options.sbatch_flags())}): " + \
                (said[-1].removeprefix("sbatch: error: ") if said else f"exit {r.returncode}")
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
        except subprocess.CalledProcessError as e:
            if list(e.cmd[:2]) == ["scontrol", "requeue"] and e.returncode < 0:
                # the requeue went through: Slurm stops the job's processes, its own `scontrol` among
                # them, before that returns (seen in CI: "died with SIGTERM", and the task was failed)
                raised.append(SystemExit(-1))
                raise raised[-1] from None
            raised.append(e)
            raise
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


# PENDING reasons no wait can satisfy: the task is reported, cancelled, and the build ends
NEVER = ("PartitionConfig", "PartitionNodeLimit", "PartitionTimeLimit", "BadConstraints", "InvalidAccount",
         "InvalidQOS", "DependencyNeverSatisfied", "QOSMaxCpuPerJobLimit", "QOSMaxGRESPerJob", "QOSMaxWallDurationPerJobLimit",
         "AssocMaxWallDurationPerJobLimit", "AssocMaxCpuPerJobLimit")
GRACE = 30.0   # seconds a task may be out of the queue without a result before it is reported dead


def queue_states(job_ids: list[str]) -> dict[str, tuple[str, str]]:
    """Each task's state and reason in Slurm's queue (("PENDING", "Resources"), ...); absent: not
    in the queue."""
    arrays = sorted({j.split("_")[0] for j in job_ids})
    if not arrays:
        return {}
    r = subprocess.run(["squeue", "-h", "-r", "-o", "%i %T %r", "-j", ",".join(arrays)], capture_output=True,
                       text=True)
    states = {}
    for line in r.stdout.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) >= 2:
            states[parts[0]] = (parts[1], parts[2] if len(parts) == 3 else "")
    return states


def task_state(job, queued: dict) -> str:
    """"done" or "failed" (its result file), "queued", "running" or "never" (pending for a reason
    no wait can satisfy: `NEVER`), else "unknown" (out of the queue without a result). Never asks
    `sacct` (submitit's own watcher does, and waits for ever where accounting is off)."""
    if job.paths.result_pickle.exists():
        try:
            outcome, _ = _read_result(job)
            return "done" if outcome == "success" else "failed"
        except Exception:
            return "failed"
    if job.job_id in queued:
        state, reason = queued[job.job_id]
        if state in ("PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED"):
            return "never" if reason.split(",")[0].strip("()") in NEVER else "queued"
        return "running"
    return "unknown"


def _read_result(job):
    """(outcome, value) from the task's result file, read directly (no sacct)."""
    import pickle
    with open(job.paths.result_pickle, "rb") as f:
        return pickle.load(f)


class Live:
    """The store's record of the Slurm tasks training its runs (`<store>/.slurm/live.json`: config
    digest -> job id), so that a second build never submits a run a live task is still training."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / "live.json"

    def read(self) -> dict:
        from .fileio import Damaged, read_json
        try:
            return read_json(self.path).get("tasks", {})
        except (OSError, Damaged, AttributeError):
            return {}

    def alive(self) -> dict:
        """config digest -> job id of the tasks still in Slurm's queue."""
        tasks = self.read()
        queued = queue_states(list(tasks.values()))
        return {digest: job for digest, job in tasks.items() if job in queued}

    def add(self, entries: dict) -> None:
        from .fileio import write_json
        write_json({"tasks": {**self.alive(), **entries}}, self.path)


def train_on_slurm(configs: list[RunConfig], store, analyses: dict, options: SlurmOptions,
                   poll: float = 2.0, grace: float = GRACE) -> None:
    """Submit every missing run (and every run whose analyses are missing) as one job array and
    follow it to the end: a bar over the runs, a line per task that starts, ends or fails (with
    where its log is and Slurm's reason), a failed task's error in full. A run that a live task of
    an earlier build is training is not submitted again: it is waited for. A task that Slurm
    cancels, kills or can never schedule is reported within `grace` seconds; then the build ends
    non-zero. Ctrl-C says what is still queued or running and how to cancel it."""
    import submitit
    why = slurm_available(options=options)
    if why:
        raise RuntimeError(f"--executor slurm: {why}")
    unique = list({c.digest(): c for c in configs}.values())
    folder = store.root / ".slurm"
    folder.mkdir(parents=True, exist_ok=True)
    live = Live(folder)
    running = live.alive()
    mine = [c for c in unique if c.digest() not in running]
    theirs = [c for c in unique if c.digest() in running]
    for c in theirs:
        tqdm.write(f"not submitted again: {c.label()} is being trained by task {running[c.digest()]} (an earlier "
                   f"build's); waiting for it")
    jobs = []
    if mine:
        executor = submitit.AutoExecutor(folder=folder / "%j", cluster="slurm")
        executor.update_parameters(**options.executor_parameters())
        jobs = executor.map_array(TrainTask(), [c.to_dict() for c in mine], [str(store.root)] * len(mine),
                                  [tuple(sorted(analyses.get(c.digest(), ()))) for c in mine])
        live.add({c.digest(): j.job_id for c, j in zip(mine, jobs)})
        tqdm.write(f"submitted {len(jobs)} runs as Slurm job array {jobs[0].job_id.split('_')[0]}; logs in "
                   f"{folder}/<job id>/")
    try:
        failed = _follow(jobs, [c.label() for c in mine], theirs, running, store, poll, grace)
    except KeyboardInterrupt:
        left = [j for j in jobs if j.job_id in queue_states([j.job_id for j in jobs])]
        if left:
            arrays = sorted({j.job_id.split("_")[0] for j in left})
            tqdm.write(f"interrupted: {len(left)} Slurm task(s) of job array {', '.join(arrays)} are still queued or "
                       f"running and go on (their runs are kept); cancel them with: scancel {' '.join(arrays)}. "
                       f"The same command resumes and waits for them instead of submitting them again.")
        raise
    if failed:
        raise RuntimeError(f"{failed} of {len(jobs) + len(theirs)} Slurm tasks failed (errors above); run the same "
                           f"command again to resubmit them (finished runs are kept, a killed run resumes from its "
                           f"checkpoint)")


def _follow(jobs, labels, theirs, running, store, poll: float, grace: float) -> int:
    """Follow the submitted tasks (and an earlier build's, by job id) until each has ended; the
    number that failed."""
    seen: dict = {}
    missing_since: dict = {}
    failed = 0
    total = len(jobs) + len(theirs)
    with tqdm(total=total, desc="runs (slurm)", unit="run") as bar:
        pending, waiting = set(range(len(jobs))), {c.digest(): c for c in theirs}
        while pending or waiting:
            queued = queue_states([jobs[i].job_id for i in pending] + [running[d] for d in waiting])
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
                if state == "unknown":       # out of the queue without a result: give its result a moment
                    missing_since.setdefault(i, time.time())
                    if time.time() - missing_since[i] < grace:
                        continue
                pending.discard(i)
                bar.update(1)
                if state == "done":
                    tqdm.write(f"done {job.job_id}: {labels[i]}")
                    continue
                failed += 1
                if state == "never":
                    reason = queued[job.job_id][1]
                    subprocess.run(["scancel", job.job_id], capture_output=True)
                    tqdm.write(f"FAILED {job.job_id}: {labels[i]}: Slurm can never run it as asked (pending, "
                               f"reason {reason}); cancelled. Ask for what the partition offers (sinfo).")
                else:
                    tqdm.write(f"FAILED {job.job_id}: {labels[i]}\n{_error_of(job)}\n(log {job.paths.stdout})")
            for digest, config in list(waiting.items()):
                if running[digest] in queued:
                    counts["running" if queued[running[digest]][0] == "RUNNING" else "queued"] += 1
                    continue
                del waiting[digest]
                bar.update(1)
                if store.is_complete(config):
                    tqdm.write(f"done {running[digest]} (an earlier build's task): {config.label()}")
                else:
                    failed += 1
                    tqdm.write(f"FAILED {running[digest]} (an earlier build's task): {config.label()} left the queue "
                               f"without finishing its run; its log is in {store.root / '.slurm' / running[digest]}")
            bar.set_postfix(queued=counts["queued"], running=counts["running"], failed=failed)
            if pending or waiting:
                time.sleep(poll)
    return failed


def _error_of(job) -> str:
    """A failed task's error: its exception from the result file, else what Slurm says of the job
    (`scontrol`, while it still knows it) and the end of its logs. Never `sacct` (see task_state)."""
    text = ""
    if job.paths.result_pickle.exists():
        try:
            outcome, value = _read_result(job)
            text = str(value) if outcome != "success" else ""
        except Exception as e:
            text = f"unreadable result file: {e}"
    else:
        r = subprocess.run(["scontrol", "show", "job", job.job_id], capture_output=True, text=True, timeout=30)
        fields = dict(kv.split("=", 1) for kv in r.stdout.split() if "=" in kv)
        if fields.get("JobState"):
            text = f"Slurm: {fields['JobState']}, reason {fields.get('Reason', '?')}, exit {fields.get('ExitCode', '?')}\n"
        else:
            text = "Slurm: the task left the queue without a result (cancelled, killed, or its node failed)\n"
        logs = []
        for path in (job.paths.stderr, job.paths.stdout):
            try:
                logs.append(Path(path).read_text()[-1500:])
            except OSError:
                pass
        text += "".join(logs) or "no log written"
    return "  " + "\n  ".join(text.strip().splitlines()[-25:])
