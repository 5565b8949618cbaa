"""Running mobileone-cli from Python: the one way the tools, the tests and
the benchmarks call it (standard library only, so the engine's tests need
nothing else).

  from mobileone_tools import cli
  p = cli.run(cli.default_path(), ["run", "m.yaml", "--input", "x.npy",
                                   "--output-dir", "out"], timeout=300)
  p.stdout, p.stderr, p.returncode, p.seconds

A run that outlives its timeout always raises CliError: a hang is never an
answer. A non-zero exit status raises CliError too unless check=False (the
bad-input tests want the status and the message).
"""

import os
import signal
import subprocess
import time

from mobileone_tools import ROOT

# Where `meson setup build && ninja -C build` puts it.
BUILD_PATH = os.path.join("build", "cli", "mobileone-cli")


class CliError(RuntimeError):
    """mobileone-cli failed, was killed or ran past its timeout; the message
    names the command line and ends with its stderr."""


def default_path():
    """$MOBILEONE_CLI, else the build/ folder of the source tree."""
    return os.environ.get("MOBILEONE_CLI") or os.path.join(ROOT, BUILD_PATH)


def check_executable(path):
    """Raises CliError unless @path is an executable file."""
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise CliError(f"{path}: no mobileone-cli there (build it, or give its path)")


def command_line(cmd):
    return " ".join(str(c) for c in cmd)


def describe_status(returncode):
    """'exit status N' or 'killed by SIGNAME'."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


def run(cli, args, timeout=600.0, check=True):
    """Runs ``cli args...`` (each argument str()-ed) and returns its
    subprocess.CompletedProcess, stdout and stderr as text, with .seconds
    (the wall time) added."""
    cmd = [str(cli)] + [str(a) for a in args]
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CliError(f"{command_line(cmd)}: no result after {timeout:g} s") from None
    p.seconds = time.monotonic() - t0
    if check and p.returncode != 0:
        raise CliError(f"{command_line(cmd)}: {describe_status(p.returncode)}\n"
                       f"{p.stdout}{p.stderr}".rstrip())
    return p
