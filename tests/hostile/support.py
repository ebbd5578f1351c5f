"""What the hostile-input tests share: running factpost in a child process and reading how much
memory it took at its peak, and a newsroom served by a real `factpost serve` process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

#: Peak resident memory allowed for `preview` and for the web server on any hostile input.
PEAK_LIMIT_MB = 300

# Runs the CLI and reports the process's own peak resident set size (Linux: kilobytes) when it
# ends, however it ends. VmHWM, not getrusage's ru_maxrss: "resource usages are preserved
# across execve" (getrusage(2)), so a child of a test process that once held 400 MB reports
# 400 MB whatever it did itself; VmHWM belongs to the memory the child was given at exec.
_PEAK = textwrap.dedent("""
    import re, sys
    from scheduler.cli import cli
    try:
        cli.main(args=sys.argv[1:], prog_name="factpost")
    finally:
        with open("/proc/self/status") as status:
            peak = re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1)
        print(f"peak-rss-kb {peak}", file=sys.stderr)
""")


@dataclass
class Run:
    code: int
    stdout: str
    errors: list[str]
    peak_mb: float


def run_measured(*args: str, cwd: Path, timeout: float = 120) -> Run:
    """`factpost ARGS` in a child process; its exit code, output, error lines and peak RSS."""
    proc = subprocess.run([sys.executable, "-c", _PEAK, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=_env())
    lines = proc.stderr.splitlines()
    peak = next(int(line.split()[1]) for line in lines if line.startswith("peak-rss-kb "))
    return Run(proc.returncode, proc.stdout,
               [line for line in lines if not line.startswith("peak-rss-kb ")], peak / 1024)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("FACTPOST_TOKEN", None)
    return env


def peak_mb(pid: int) -> float:
    """The peak resident set size so far of a running process (VmHWM), in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


@pytest.fixture
def measured_server(start_server):
    """A newsroom (admin amira) served by a real `factpost serve` child process on a free
    port; yields (office, base URL, pid)."""
    return start_server()


@pytest.fixture
def start_server(make_office):
    """start_server(extra=TOML) -> (office, base URL, pid): a newsroom (admin amira) with
    `extra` in its config, served by a real `factpost serve` child process on a free port."""
    from conftest import add_users

    processes = []

    def start(extra: str = ""):
        office = make_office(extra=extra)
        add_users(office.store, amira="admin")
        proc = subprocess.Popen([sys.executable, "-m", "scheduler", "--config",
                                 str(office.config_path), "serve", "--port", "0"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                env=_env())
        processes.append(proc)
        url = None
        for line in proc.stderr:  # start-up: the line that names the port
            found = re.search(r"serving on (http://\S+)", line)
            if found:
                url = found.group(1)
                break
        assert url, "the server did not say where it listens"
        # Keep reading its log, or a full pipe would stop the server.
        threading.Thread(target=proc.stderr.read, daemon=True).start()
        _wait_until_up(url)
        return office, url, proc.pid

    yield start
    for proc in processes:
        proc.terminate()
        proc.wait(timeout=30)


def _wait_until_up(url: str) -> None:
    import time

    import httpx

    while True:  # start-up, not an assertion: the server printed its port already
        try:
            httpx.get(url + "/login", timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.05)
