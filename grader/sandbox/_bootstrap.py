"""Starts the jailed command from INSIDE the jail, and reports how it ended.

Started by ``jail.py`` as the command of ``bwrap``: ``python -I -S _bootstrap.py CONFIG_JSON``,
already in the jail's namespaces, as its unprivileged user, with no capabilities. It

1. makes itself non-dumpable, so nothing of the same uid can open its ``/proc/PID/fd`` or
   trace it: the status fd stays out of the student's reach;
2. forks; the child copies the workspace files named in ``seed`` to their places in the
   jail's own scratch areas (e.g. a prebuilt matplotlib font list into its tmpfs home: the
   copy is this jail's alone), sets the rlimits (``RLIMIT_NPROC`` here, after the user
   namespace exists, so it counts only this jail's processes), closes every fd but 0-2 and
   those named in ``keep_fds``, and execs the target;
3. waits for the child and writes ``exit N maxrss KB`` or ``signal N maxrss KB`` (or
   ``error MESSAGE`` when the target could not start) on the status fd, then exits, which
   ends the jail: bwrap's init goes with it, and the kernel kills whatever is left in the
   PID namespace.

Only the standard library is used.
"""
import ctypes
import json
import os
import resource
import sys

PR_SET_DUMPABLE = 4


def seed_files(pairs):
    """Copy each ``[source, destination]`` (paths inside the jail) into place, as this jail's user."""
    for source, destination in pairs:
        os.makedirs(os.path.dirname(destination), mode=0o700, exist_ok=True)
        with open(source, "rb") as src, open(destination, "xb") as dst:
            dst.write(src.read())


def start_target(cfg):
    """In the forked child: seeded files, limits, fds, exec. Never returns."""
    status_fd = cfg["status_fd"]
    try:
        os.umask(0o077)
        seed_files(cfg.get("seed", []))
        for name, value in cfg["rlimits"].items():
            resource.setrlimit(getattr(resource, name), (value, value))
        keep = sorted({0, 1, 2, *cfg.get("keep_fds", [])})
        for fd in keep:
            os.set_inheritable(fd, True)
        lowest = 3
        for fd in keep[3:] + [65536]:
            os.closerange(lowest, fd)  # the status fd among them
            lowest = fd + 1
        os.execve(cfg["argv"][0], cfg["argv"], dict(os.environ))
    except BaseException as exc:  # report, never fall through into the waiting code
        try:
            os.write(status_fd, f"error cannot start {cfg['argv'][0]}: {type(exc).__name__}: {exc}\n".encode())
        except OSError:
            pass
        os._exit(71)


def main():
    cfg = json.loads(sys.argv[1])
    status_fd = cfg["status_fd"]
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        os.write(status_fd, b"error sandbox setup failed: prctl(PR_SET_DUMPABLE) refused\n")
        os._exit(70)
    os.set_inheritable(status_fd, False)
    child = os.fork()
    if child == 0:
        start_target(cfg)
    for fd in (0, 1, 2, *cfg.get("keep_fds", [])):  # the child owns them: EOF must come when it is gone
        try:
            os.close(fd)
        except OSError:
            pass
    _, status, usage = os.wait4(child, 0)
    fate = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.waitstatus_to_exitcode(status)}"
    os.write(status_fd, f"{fate} maxrss {usage.ru_maxrss}\n".encode())
    os._exit(0)


if __name__ == "__main__":
    main()
