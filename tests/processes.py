"""The test session's background processes: commands started with their output in files, and
the jobs run in two lanes once the judge's process has ended (AfterJudge)."""

import os
import signal
import subprocess
import threading
import types

# Lowers the priority of the session it runs in: with autogroups (Linux's default), the scheduler
# shares the CPU between sessions first and heeds a process's nice value only inside its own.
LOWER = 'echo "$0" > /proc/self/autogroup 2> /dev/null; exec nice -n "$0" "$@"'


def start(folder, command, nice=0, cwd=None, env=None):
    """`command` (argv) started in a process of its own and a session of its own (`nice`: at a
    lower priority), its output going to files in `folder`: a pipe nobody reads yet would stall
    it once full."""
    outputs = types.SimpleNamespace(stdout=folder / "stdout.txt", stderr=folder / "stderr.txt")
    priority = ["sh", "-c", LOWER, str(nice)] if nice else []
    with open(outputs.stdout, "w") as stdout, open(outputs.stderr, "w") as stderr:
        process = subprocess.Popen(
            [*priority, *command],
            cwd=cwd,
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    return types.SimpleNamespace(process=process, **vars(outputs))


class AfterJudge:
    """Commands the tests of several modules want run, started in order by LANES threads once the
    judge's process has ended, each in a process of its own with its output in files: they use
    the core this process leaves while it runs the other tests, and both cores once it has only
    their tests left to wait for. Without a judge's process (no MNIST files, or no test that
    scores) the jobs that need no judge run at once, and the others not.

    A module defines after_judge_jobs(folder, data_dir, mnist_dir) -> {name: job(...)}; a job runs
    when a collected test asks for a fixture of its name, and that fixture gets its `result`."""

    LANES = 2  # jobs at once: one core each once this process has only their tests left
    NICE = 5  # below this process, the session's longest chain of work: it keeps a core

    def __init__(self, judge, jobs):
        self.judge = judge
        self.jobs = jobs
        # in order, the first=True ones first; each lane takes the next
        self.waiting = sorted(jobs.values(), key=lambda job: not job.first)
        self.running = set()
        self.stopped = False
        self.lock = threading.Lock()  # stop() never misses a job being started
        self.threads = [threading.Thread(target=self._lane, daemon=True) for _ in range(self.LANES)]
        for thread in self.threads:
            thread.start()

    def _lane(self):
        try:
            judged = self.judge is not None and self.judge.process.wait() == 0
            while True:
                with self.lock:
                    if not self.waiting:
                        return
                    job = self.waiting.pop(0)
                if job.after in self.jobs:  # taken by a lane before: none waits on a job behind
                    self.jobs[job.after].done.wait()
                try:
                    job.returncode = self._one(job, judged)
                except Exception as error:  # e.g. a command not installed: its test fails
                    job.returncode = f"not run: {error!r}"
                job.done.set()
        finally:
            with self.lock:
                left, self.waiting = self.waiting, []
            for job in left:  # none waits forever, whatever happened
                job.returncode = job.returncode or "not run: the session ended"
                job.done.set()

    def _one(self, job, judged):
        """Runs `job` to its end; returns its exit status, or why it has none."""
        with self.lock:
            if self.stopped or (job.needs_judge and not judged):
                return "not run: no judge, or the session ended"
            running = start(job.folder, job.command, self.NICE, job.cwd, job.env)
            self.running.add(running.process)
        try:
            return running.process.wait(timeout=job.timeout)
        except subprocess.TimeoutExpired:
            _kill(running.process)
            running.process.wait()
            return f"killed after {job.timeout} s"
        finally:
            with self.lock:
                self.running.discard(running.process)

    def result(self, name):
        """The finished job `name`: returncode (a text when it did not end by itself), stdout,
        stderr (texts) and folder (its files, and any it wrote there)."""
        job = self.jobs[name]
        job.done.wait()
        return types.SimpleNamespace(
            returncode=job.returncode,
            stdout=_text(job.folder / "stdout.txt"),
            stderr=_text(job.folder / "stderr.txt"),
            folder=job.folder,
        )

    def finished(self, name):
        """result(name), once the job has exited 0; else the test fails with its stderr's end."""
        run = self.result(name)
        assert run.returncode == 0, (run.returncode, run.stderr[-3000:])
        return run

    def stop(self):
        """Kills the running jobs; the ones after them do not start. The judge's process must have
        ended."""
        with self.lock:
            self.stopped = True
            for process in self.running:
                _kill(process)
        for thread in self.threads:
            thread.join()


def _text(path):
    """The file's text; "" when there is none (a job not run)."""
    return path.read_text() if path.exists() else ""


def _kill(process):
    """SIGKILL to `process`'s group, unless it has ended (and been reaped) already."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def job(command, cwd=None, env_extra=None, timeout=300, needs_judge=True, after=None, first=False):
    """A command for AfterJudge: argv `command` (python's path first for a script), run in `cwd`
    (the job's folder when None) with `env_extra` added to the environment, killed after
    `timeout` s; not run without the judge when it `needs_judge`; started once the job named
    `after` (of the same module, listed before it) has ended; with `first`, before the jobs
    without (one that in-process tests go on from)."""
    return types.SimpleNamespace(
        first=first,
        command=command,
        cwd=cwd,
        env=dict(os.environ, **(env_extra or {})),
        timeout=timeout,
        needs_judge=needs_judge,
        after=after,
        done=threading.Event(),
        returncode=None,
    )
