"""The cluster path against a real Slurm (`.ci/slurm-up` starts a one-node cluster on this machine):
the tiny book's runs trained as a submitit job array are the very runs a local build trains (same
model digests), a task killed mid-run resumes from its checkpoint when the book is run again, and
a task that Slurm pre-empts is requeued by submitit and resumes by itself."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fraglib.cluster import SlurmOptions, TrainTask, preemption_guard, slurm_available
from fraglib.config import RunConfig
from fraglib.runs import RunStore

from .helpers import REPO

WHY = slurm_available()
slurm = pytest.mark.skipif(WHY is not None, reason=f"no Slurm here ({WHY}); `.ci/slurm-up` starts one")


def book(root: Path, runs: Path, *args):
    env = dict(os.environ, FRAGLIB_RUNS=str(runs))
    return subprocess.run([sys.executable, "-m", "fraglib", "book", "--profile", "tiny", "--seeds", "1",
                           "--root", str(root), "--no-build", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=1800)


def digests(runs: Path) -> dict:
    return {r.config.digest(): r.metrics["model_sha256"] for r in RunStore(runs).runs()}


@pytest.mark.slurm
@pytest.mark.slow
@slurm
def test_the_slurm_book_trains_the_local_books_runs(tmp_path):
    slurm = book(tmp_path / "a", tmp_path / "shared-runs", "--executor", "slurm")
    assert slurm.returncode == 0, slurm.stdout[-3000:] + slurm.stderr[-3000:]
    assert "submitted" in slurm.stdout and "Slurm job array" in slurm.stdout
    local = book(tmp_path / "b", tmp_path / "local-runs")
    assert local.returncode == 0, local.stdout[-3000:] + local.stderr[-3000:]
    on_slurm, here = digests(tmp_path / "shared-runs"), digests(tmp_path / "local-runs")
    assert on_slurm and on_slurm == here                       # the same runs, bit for bit
    logs = list((tmp_path / "shared-runs" / ".slurm").glob("*/*_log.out"))
    assert logs                                                # each task's log where the book said


@pytest.mark.slurm
@slurm
def test_a_partition_the_cluster_lacks_is_one_line_naming_its_partitions_before_any_work(tmp_path):
    r = book(tmp_path / "a", tmp_path / "runs", "--executor", "slurm", "--partition", "nope")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0, r.stderr
    partitions = sorted(set(subprocess.run(["sinfo", "-h", "-o", "%R"], capture_output=True, text=True).stdout.split()))
    assert "no partition 'nope'" in r.stderr and f"valid: {', '.join(partitions)}" in r.stderr
    assert not (tmp_path / "runs").exists() and not r.stdout.strip()     # nothing trained or submitted


def _slow_run() -> RunConfig:
    return RunConfig.make("fashion-mnist", "ce", 100, profile="tiny", epochs=25)


def _submit(tmp_path, config):
    import submitit
    executor = submitit.AutoExecutor(folder=tmp_path / "jobs" / "%j", cluster="slurm")
    executor.update_parameters(**SlurmOptions.defaults("tiny").executor_parameters())
    return executor.submit(TrainTask(), config.to_dict(), str(tmp_path / "runs"), ())


def _task_past_its_first_checkpoint(tmp_path, seconds=300):
    """A task training a 25-epoch tiny run, once its checkpoint exists: (config, job, run folder)."""
    config = _slow_run()
    job = _submit(tmp_path, config)
    folder = RunStore(tmp_path / "runs").folder(config)
    end = time.time() + seconds
    while not (folder / "checkpoint.pt").exists():
        assert time.time() < end, "no checkpoint written"
        time.sleep(0.5)
    return config, job, folder


def _uninterrupted_digest(tmp_path, config) -> str:
    return RunStore(tmp_path / "whole").get(config, progress=False).metrics["model_sha256"]


@pytest.mark.slurm
@pytest.mark.slow
@slurm
def test_a_preempted_task_is_requeued_and_resumes(tmp_path):
    config, job, _ = _task_past_its_first_checkpoint(tmp_path)
    job._interrupt()                                  # what Slurm sends before pre-empting a job
    result = job.result()                             # requeued by submitit, then finished
    assert result["model_sha256"] == _uninterrupted_digest(tmp_path, config)
    assert "resuming from its checkpoint" in (job.stdout() or "")


@pytest.mark.slurm
@pytest.mark.slow
@slurm
def test_a_killed_task_resumes_when_the_run_is_asked_for_again(tmp_path):
    config, job, folder = _task_past_its_first_checkpoint(tmp_path)
    subprocess.run(["scancel", "--signal=KILL", "--full", job.job_id], check=True)
    end = time.time() + 120
    while subprocess.run(["squeue", "-h", "-j", job.job_id], capture_output=True, text=True).stdout.strip():
        assert time.time() < end
        time.sleep(0.5)
    assert (folder / "checkpoint.pt").exists() and not (folder / "metrics.json").exists()
    job2 = _submit(tmp_path, config)                  # the run asked for again: a new task
    again = job2.result()
    assert again["model_sha256"] == _uninterrupted_digest(tmp_path, config)
    # probe: the same digest, but trained again from scratch (wasted epochs): it must resume
    assert "resuming from its checkpoint" in (job2.stdout() or ""), (job2.stdout() or "")[-2000:]


def _interrupted_in_failing_clean_up():
    """Code whose clean-up fails once a signal interrupts it, as tqdm.write's lock did."""
    try:
        os.kill(os.getpid(), signal.SIGUSR2)
        time.sleep(5)
    finally:
        raise RuntimeError("cannot release un-acquired lock")


def test_a_requeue_signal_that_lands_in_failing_clean_up_still_ends_the_task_as_a_requeue():
    def requeue(number, frame):          # what submitit's handler does once it has requeued the job
        sys.exit(-1)

    previous = signal.signal(signal.SIGUSR2, requeue)
    try:
        with pytest.raises(RuntimeError):                # unguarded, the requeue is lost
            _interrupted_in_failing_clean_up()
        with pytest.raises(SystemExit):
            with preemption_guard(signal.SIGUSR2):
                _interrupted_in_failing_clean_up()
        assert signal.getsignal(signal.SIGUSR2) is requeue
        with preemption_guard(signal.SIGUSR2):           # no signal: nothing changes
            value = 1
        assert value == 1 and signal.getsignal(signal.SIGUSR2) is requeue
        with pytest.raises(ValueError):                  # an error of its own is the task's error
            with preemption_guard(signal.SIGUSR2):
                raise ValueError("bad")
    finally:
        signal.signal(signal.SIGUSR2, previous)


def test_slurm_options_come_from_the_profile_a_file_and_the_command_line(tmp_path):
    path = tmp_path / "slurm.json"
    path.write_text(json.dumps({"partition": "gpu", "sbatch": ["--account=lab"]}))
    options = SlurmOptions.make("paper", path, time_min=30)
    params = options.executor_parameters()
    assert params["gpus_per_node"] == 1 and params["slurm_partition"] == "gpu" and params["timeout_min"] == 30
    assert params["slurm_additional_parameters"] == {"account": "lab"}


@pytest.mark.parametrize("given,needle", [
    ({"setup": "echo hello"}, "setup must be a list of lines"),
    ({"sbatch": "--comment=probe"}, "sbatch must be a list of lines"),
    ({"mem_gb": "abc"}, "mem_gb must be a number of gigabytes > 0"),
    ({"mem_gb": -1}, "mem_gb must be a number of gigabytes > 0"),
    ({"mem_gb": float("nan")}, "mem_gb must be a number of gigabytes > 0"),
    ({"time_min": 0}, "time_min must be a whole number >= 1"),
    ({"partition": ""}, "partition must be a partition's name"),
    ({"sbatch": ["--array=0-3"]}, "not --array"),
])
def test_every_slurm_option_is_checked_where_it_is_made(tmp_path, given, needle):
    """Probes: a setup string was split into 25 one-character shell lines; "mem_gb": "abc" was a
    19-line traceback; -1 and nan failed in sbatch after the build began."""
    from fraglib.config import BadInput
    path = tmp_path / "slurm.json"
    path.write_text(json.dumps(given))
    with pytest.raises(BadInput, match=needle):
        SlurmOptions.make("tiny", path)
    assert SlurmOptions.make("tiny", None, partition="main,main").partition == "main,main"   # a list is a list


@pytest.mark.slurm
@slurm
@pytest.mark.parametrize("args,needle", [
    (["--cpus-per-task", "64"], "sbatch refuses these options"),
    (["--sbatch=--no-such-option"], "sbatch refuses these options"),
])
def test_options_no_node_can_run_are_one_line_before_any_work(tmp_path, args, needle):
    """Probes: --cpus-per-task 64 on 2-CPU nodes sat PENDING (PartitionConfig) for ever with the bar
    at "queued=11"; an unknown sbatch option failed after "[1/3]"."""
    r = book(tmp_path / "a", tmp_path / "runs", "--executor", "slurm", *args)
    assert r.returncode == 2 and needle in r.stderr and r.stderr.strip().count("\n") == 0, r.stderr
    assert not (tmp_path / "runs").exists() and not r.stdout.strip()


@pytest.mark.slurm
@pytest.mark.slow
@slurm
def test_a_cancelled_task_is_reported_and_the_build_ends(tmp_path):
    """Probe: scancel of one task mid-training left the submitting build waiting for ever (it asked
    submitit for the task's exception, which waits on sacct, and this cluster has no accounting)."""
    env = dict(os.environ, FRAGLIB_RUNS=str(tmp_path / "runs"))
    proc = subprocess.Popen([sys.executable, "-m", "fraglib", "book", "--profile", "tiny", "--seeds", "1", "--root",
                             str(tmp_path / "a"), "--no-build", "--executor", "slurm"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("running "):          # a task has started: cancel it, as an administrator would
            subprocess.run(["scancel", line.split()[1].rstrip(":")], check=True)
            break
    t0 = time.time()
    rest, _ = proc.communicate(timeout=600)
    out = "".join(lines) + rest
    assert proc.returncode == 2 and "FAILED" in out and "run the same command again" in out, out[-3000:]
    assert time.time() - t0 < 300, out[-3000:]
    again = book(tmp_path / "a", tmp_path / "runs", "--executor", "slurm")     # the same command resumes
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]


@pytest.mark.slurm
@pytest.mark.slow
@slurm
def test_a_run_a_live_task_is_training_is_not_submitted_again(tmp_path):
    """Probe: Ctrl-C of the submitting build, then the same command at once, submitted 10 duplicate
    tasks for runs the first array was still training."""
    from fraglib.cluster import Live
    config, job, folder = _task_past_its_first_checkpoint(tmp_path)
    Live(tmp_path / "runs" / ".slurm").add({config.digest(): job.job_id})
    from fraglib.cluster import train_on_slurm
    store = RunStore(tmp_path / "runs")
    train_on_slurm([config], store, {}, SlurmOptions.defaults("tiny"), poll=0.5)
    assert store.is_complete(config)
    assert not list((tmp_path / "runs" / ".slurm").glob("*_0"))      # nothing submitted by this call


def test_a_requeue_whose_scontrol_is_killed_by_the_requeue_still_ends_the_task_as_a_requeue():
    """Seen in CI: `scontrol requeue` died with SIGTERM (Slurm stops the job's processes, the
    requeue's own among them, once the requeue goes through), and the task was reported failed."""
    def requeue(number, frame):          # submitit's handler when its scontrol child is killed
        raise subprocess.CalledProcessError(-signal.SIGTERM, ["scontrol", "requeue", "15"])

    previous = signal.signal(signal.SIGUSR2, requeue)
    try:
        with pytest.raises(SystemExit):
            with preemption_guard(signal.SIGUSR2):
                os.kill(os.getpid(), signal.SIGUSR2)
                time.sleep(5)
        with pytest.raises(subprocess.CalledProcessError):     # a requeue that Slurm refused is an error
            signal.signal(signal.SIGUSR2, lambda n, f: (_ for _ in ()).throw(
                subprocess.CalledProcessError(1, ["scontrol", "requeue", "15"])))
            with preemption_guard(signal.SIGUSR2):
                os.kill(os.getpid(), signal.SIGUSR2)
                time.sleep(5)
    finally:
        signal.signal(signal.SIGUSR2, previous)
