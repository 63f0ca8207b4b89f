"""Trusted setup that runs as root inside fresh mount/net/pid namespaces, then runs the target.

Started by ``jail.py`` as ``unshare ... python -I -S _bootstrap.py CONFIG_JSON``. It is pid 1 of
the new pid namespace. Steps, all before any student code runs:

1. make every mount private (nothing propagates back to the host);
2. bring the loopback interface up (the new network namespace has nothing else);
3. open every exposed path, then cover each hidden path with an empty tmpfs (an empty
   read-only file for a hidden file) and each scratch area (/tmp, /dev/shm) with a fresh tmpfs;
4. bind the exposed paths back, read-only (the writable ones read-write), creating their
   mount points inside the tmpfs;
5. fork: the child sets rlimits, a minimal environment, drops to the sandbox's own uid/gid
   (no supplementary groups, no_new_privs), chdirs to the scratch dir and execs the target;
   this process stays as a tiny init that reaps orphans and reports the child's fate on the
   status fd ("exit N" / "signal N", or "error MESSAGE" when setup failed). It also ends the
   namespace itself shortly after the wall-time limit, in case the trusted parent died.

When this process exits the kernel kills everything left in the namespace.
Only the standard library is used; no third-party code is imported as root.
"""
import ctypes
import fcntl
import json
import os
import resource
import signal
import socket
import stat
import struct
import sys

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
PR_SET_NO_NEW_PRIVS = 38
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


def _b(text):
    return None if text is None else os.fsencode(text)


def mount(source, target, fstype, flags, data=None):
    """mount(2), raising OSError that names both paths."""
    if _libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source!r} on {target!r} ({fstype or 'bind'}): {os.strerror(err)}")


def loopback_up():
    """``ip link set lo up`` through ioctl(SIOCSIFFLAGS), so no ``ip`` binary is needed."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        req = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def make_mount_point(target, like_dir):
    if os.path.lexists(target):
        return
    os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
    if like_dir:
        os.mkdir(target, 0o755)
    else:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))


def hide(path, fresh_mode=None, size=4 << 20):
    """Cover ``path`` with an empty tmpfs (or, for a file, an empty read-only file)."""
    if not os.path.lexists(path):
        return  # already covered by a hidden parent, or never existed
    if os.path.isdir(path) and not os.path.islink(path):
        mode = "0755" if fresh_mode is None else fresh_mode
        mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode},size={size}")
    else:
        mount("/dev/null", path, None, MS_BIND)
        mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def expose(fd, target, writable):
    """Bind the directory or file held open as ``fd`` onto ``target``."""
    make_mount_point(target, stat.S_ISDIR(os.fstat(fd).st_mode))
    mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
    flags = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | (0 if writable else MS_RDONLY)
    mount(None, target, None, flags)


def depth(path):
    return len([p for p in path.split("/") if p])


def build_filesystem(cfg):
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    # Open the sources first: once their parents are hidden they cannot be reached by name.
    sources = {}
    for path in cfg["expose"] + cfg["writable"]:
        if os.path.exists(path) and path not in sources:
            sources[path] = os.open(path, os.O_PATH)
    ops = [(depth(p), 0, "hide", p) for p in cfg["hide"]]
    ops += [(depth(p), 0, "fresh", p) for p in cfg["fresh"]]
    ops += [(depth(p), 1, "expose", p) for p in cfg["expose"] if p in sources]
    ops += [(depth(p), 2, "writable", p) for p in cfg["writable"] if p in sources]
    for _, _, kind, path in sorted(ops):
        if kind == "hide":
            hide(path)
        elif kind == "fresh":
            hide(path, fresh_mode="1777", size=cfg["tmpfs_bytes"])
        else:
            expose(sources[path], path, writable=(kind == "writable"))
    for fd in sources.values():
        os.close(fd)


NICENESS = 10


def become_sandboxed_child(cfg, status_fd):
    """In the forked child: limits, identity, environment, then exec. Never returns."""
    try:
        for name, value in cfg["rlimits"].items():
            resource.setrlimit(getattr(resource, name), (value, value))
        os.nice(NICENESS)  # student code yields the CPU to the grader's own processes (a fork bomb cannot starve them)
        os.setgroups([])
        os.setresgid(cfg["gid"], cfg["gid"], cfg["gid"])
        os.setresuid(cfg["uid"], cfg["uid"], cfg["uid"])
        if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if os.getuid() == 0 or os.geteuid() == 0:
            raise RuntimeError("still root after dropping privileges")
        os.umask(0o077)
        os.chdir(cfg["cwd"])
        os.closerange(3, status_fd)
        os.closerange(status_fd + 1, 65536)
        os.set_inheritable(status_fd, False)
        os.execve(cfg["argv"][0], cfg["argv"], cfg["env"])
    except BaseException as exc:  # report, never fall through into init code
        os.write(status_fd, f"error cannot start {cfg['argv'][0]}: {type(exc).__name__}: {exc}\n".encode())
        os._exit(71)


def main():
    cfg = json.loads(sys.argv[1])
    status_fd = cfg["status_fd"]
    os.umask(0o022)
    try:
        build_filesystem(cfg)
        loopback_up()
    except BaseException as exc:
        os.write(status_fd, f"error sandbox setup failed: {type(exc).__name__}: {exc}\n".encode())
        os._exit(70)
    child = os.fork()
    if child == 0:
        become_sandboxed_child(cfg, status_fd)
    def out_of_time(signum, frame):  # backstop if the trusted parent is gone: end the namespace
        os.write(status_fd, b"timeout\n")
        os._exit(0)

    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(int(cfg["wall_seconds"]) + 10)
    for fd in (0, 1, 2):  # the child owns the pipes now; EOF must come when it is gone
        os.close(fd)
    while True:  # init: reap everything, stop when the main child is gone
        pid, status, usage = os.wait4(-1, 0)
        if pid == child:
            if os.WIFSIGNALED(status):
                fate = f"signal {os.WTERMSIG(status)}"
            else:
                fate = f"exit {os.waitstatus_to_exitcode(status)}"
            os.write(status_fd, f"{fate} maxrss {usage.ru_maxrss}\n".encode())
            os._exit(0)


if __name__ == "__main__":
    main()
