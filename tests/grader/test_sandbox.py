"""grader.sandbox: student code runs jailed (bubblewrap: namespaces, allow-list file system,
limits); only plain data returns.

These tests start real jails; they need ``bwrap`` (the project's set-up installs it) and run as
whoever runs pytest (``test_rootless.py`` runs them as an ordinary user too).
"""
from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

import utils
from grader.sandbox import (AsTensor, CodecError, Limits, SandboxUnavailable, StudentCrashed, StudentError, StudentSession,
                            StudentTimeout, fair_share_unavailable_reason, require_sandbox, run_notebook,
                            sandbox_unavailable_reason)
from grader.sandbox import codec, fair_share, jail

REPO_ROOT = Path(__file__).resolve().parents[2]
needs_sandbox = pytest.mark.skipif(sandbox_unavailable_reason() is not None,
                                   reason=f"sandbox unavailable: {sandbox_unavailable_reason()}")
FAST = Limits(wall_seconds=30, cpu_seconds=30, memory_bytes=2 * 1024 ** 3, processes=256, output_bytes=1024 ** 2)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A fake course root: solutions/secret.txt, grader/, gradebook.db."""
    root = tmp_path_factory.mktemp("course")
    (root / "solutions").mkdir()
    (root / "solutions" / "secret.txt").write_text("the answer is 42")
    (root / "grader").mkdir()
    (root / "grader" / "hidden_tests.py").write_text("assert True")
    (root / "gradebook.db").write_bytes(b"SQLite format 3\x00 real grades")
    return root


@pytest.fixture(scope="module")
def jail_paths(course):
    hide = [course, REPO_ROOT, Path(os.path.expanduser("~"))]
    expose = [Path(sys.prefix), Path(sys.base_prefix), Path(os.path.realpath(sys.executable)).parent.parent,
              Path(utils.__file__).resolve().parent]
    return hide, expose


def session(program, jail_paths, limits=FAST, **kwargs):
    hide, expose = jail_paths
    return StudentSession(textwrap.dedent(program), hide, expose, limits, **kwargs)


# ---------------------------------------------------------------------- codec (no sandbox needed)
def test_codec_round_trip_keeps_types():
    value = {"a": (1, 2.5, None, True, "x", np.float32(3)), 3: [np.arange(6).reshape(2, 3)], (1, "k"): 1 + 2j,
             "t": utils.Tensor(np.ones(2, dtype=np.float64), dtype=np.float64)}
    out = codec.decode(codec.encode(value))
    assert isinstance(out["a"], tuple) and out["a"][:5] == (1, 2.5, None, True, "x")
    assert out["a"][5].dtype == np.float32
    np.testing.assert_array_equal(out[3][0], np.arange(6).reshape(2, 3))
    assert out[(1, "k")] == 1 + 2j
    assert out["t"].dtype == np.float64 and isinstance(out["t"], np.ndarray)


def test_codec_refuses_objects_pickles_and_oversized_payloads(tmp_path):
    with pytest.raises(CodecError, match="cannot send a function"):
        codec.encode({"f": lambda: 0})
    with pytest.raises(CodecError, match="dtype object"):
        codec.encode(np.array([object()]))
    with pytest.raises(CodecError, match="larger than"):
        codec.encode(np.zeros(1000), max_bytes=100)
    pickled = tmp_path / "evil.npz"
    np.savez(pickled, __meta__=np.frombuffer(b'{"$": "array", "key": "a0"}', dtype=np.uint8), a0=np.array([object()]))
    with pytest.raises(CodecError, match="pickle"):
        codec.read_file(pickled)
    with pytest.raises(CodecError, match="not a valid npz"):
        codec.decode(b"not a zip file")
    (tmp_path / "link.npz").symlink_to(pickled)
    with pytest.raises(CodecError, match="cannot open"):
        codec.read_file(tmp_path / "link.npz")


def forged_payload(tree, **arrays) -> bytes:
    """An npz as a hostile worker could send it: any metadata tree, any arrays."""
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8), **arrays)
    return buf.getvalue()


def test_codec_refuses_payloads_that_grow_when_decoded(monkeypatch):
    """A reply is decoded on the trusted side, which has no memory limit: a payload within the size caps
    must not decode into much more than itself (one array referred to N times made N copies: 1 MiB
    sent, 300 MiB allocated; 10 MiB of JSON lists became 0.5 GiB of Python objects)."""
    repeated = {"$": "tuple", "items": [{"$": "array", "key": "a0"}] * 300}
    with pytest.raises(CodecError, match="more than once"):
        codec.decode(forged_payload(repeated, a0=np.zeros(1 << 10)))
    empty_lists = ("[" + ",".join(["[]"] * (codec.MAX_META_BYTES // 3 + 10)) + "]")
    with pytest.raises(CodecError, match="metadata unpacks to"):
        codec.decode(forged_payload(json.loads(empty_lists)))
    monkeypatch.setattr(codec, "MAX_ARRAYS", 8)
    many = {"$": "tuple", "items": [{"$": "array", "key": f"a{i}"} for i in range(9)]}
    with pytest.raises(CodecError, match="more than the limit of 8"):
        codec.decode(forged_payload(many, **{f"a{i}": np.zeros(1) for i in range(9)}))
    with pytest.raises(CodecError, match="more than 8 arrays"):  # the worker's side says so before sending
        codec.encode([np.float64(i) for i in range(9)])
    monkeypatch.undo()
    with pytest.raises(CodecError, match="rather than long lists"):
        codec.encode([0.5] * (codec.MAX_META_BYTES // 4))
    value = {"x": [np.arange(3)] * 2, "n": list(range(100))}  # the same array twice is sent twice: fine
    out = codec.decode(codec.encode(value))
    assert len(out["x"]) == 2 and out["n"] == list(range(100))


def test_unavailable_sandbox_fails_loudly(monkeypatch, tmp_path):
    jail.sandbox_unavailable_reason.cache_clear()
    monkeypatch.setattr(jail, "_bwrap", lambda: None)
    try:
        with pytest.raises(SandboxUnavailable, match=r"`bwrap` is not installed.*apt-get install bubblewrap"):
            require_sandbox()
        with pytest.raises(SandboxUnavailable):
            run_notebook(tmp_path / "any.ipynb", tmp_path / "out.ipynb")
        with pytest.raises(SandboxUnavailable):
            StudentSession("x = 1").get("x")
        refused = subprocess.CompletedProcess([], 1, b"", b"bwrap: No permissions to creating new namespace")
        monkeypatch.setattr(jail, "_bwrap", lambda: "/usr/bin/bwrap")
        monkeypatch.setattr(jail, "_probe", lambda bwrap, extra: refused)
        jail.sandbox_unavailable_reason.cache_clear()
        with pytest.raises(SandboxUnavailable, match=r"No permissions to creating new namespace.*user namespaces"):
            require_sandbox()
    finally:
        monkeypatch.undo()
        jail.sandbox_unavailable_reason.cache_clear()


# ---------------------------------------------------------------------- sessions
PROGRAM = """
import numpy as np

def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)

def echo(*args, **kwargs):
    return args, kwargs

def shapes(t):
    return type(t).__name__, t.dtype.name, t.requires_grad

LEARNING_RATE = 0.1
"""


@needs_sandbox
def test_correct_function_returns_correct_arrays(jail_paths):
    x = np.random.default_rng(0).normal(size=(3, 5))
    with session(PROGRAM, jail_paths) as student:
        out = student.call("softmax", x, axis=1)
        assert student.get("LEARNING_RATE") == 0.1
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(out, e / e.sum(axis=1, keepdims=True))
    assert out.dtype == np.float64


@needs_sandbox
def test_kwargs_tuples_dicts_and_float64_round_trip(jail_paths):
    x64 = np.linspace(0, 1, 7, dtype=np.float64)
    with session(PROGRAM, jail_paths) as student:
        args, kwargs = student.call("echo", (1, "a"), [x64], mask=np.array([True, False]), opts={"k": (2, None)})
        assert student.call("shapes", AsTensor(x64, requires_grad=True)) == ("Tensor", "float64", True)
    assert args[0] == (1, "a") and isinstance(args[0], tuple)
    assert args[1][0].dtype == np.float64 and np.array_equal(args[1][0], x64)
    assert kwargs["opts"] == {"k": (2, None)} and kwargs["mask"].dtype == bool


@needs_sandbox
def test_an_inspected_call_reports_arguments_after_it_and_the_lines_it_ran(jail_paths):
    program = """
    import sys
    import numpy as np

    def scale_in_place(a, k):
        a *= k
        return a.sum()

    def looped(a):
        return [v * 2 for v in a]

    def untraced(a):
        sys.settrace(None)
        return [v * 2 for v in a]
    """
    x = np.arange(4.0)
    with session(program, jail_paths) as student:
        answer = student.call_with("scale_in_place", (x, 3.0), inspect=True)
        assert answer["outputs"] == 18.0 and np.array_equal(answer["args_after"][0], 3 * x)
        assert answer["output_type"] == "float64"  # the NumPy scalar's class, which the codec does not keep apart
        short, long = (student.call_with("looped", (np.arange(n),), inspect=True)["lines"] for n in (10, 100))
        assert long - short == 90, (short, long)  # one traced line per item
        with pytest.raises(StudentError, match="switched off"):
            student.call_with("untraced", (x,), inspect=True)
    assert np.array_equal(x, np.arange(4.0)), "the caller's own array never changes: only the worker's copy did"


@needs_sandbox
def test_a_loop_cannot_hide_from_the_line_count(jail_paths):
    """A loop hidden by a one-line trick still shows in an inspected call's line count (the hidden
    checks' "no Python loop" point): tracing paused and resumed, the loop in code made by exec or
    compile (under a library's file name, or renamed with code.replace before the call), in a thread,
    or in a forked process. Each escaped the count; now each is counted or refused."""
    program = """
    import os, sys, threading, types
    import numpy as np

    def paused(a):
        t = sys.gettrace()
        sys.settrace(None)
        out = [v * 2 for v in a]
        sys.settrace(t)
        return out

    def exec_string(a):
        ns = {"a": a}
        exec("out = [v * 2 for v in a]", ns)
        return ns["out"]

    def exec_as_library(a):
        ns = {"a": a}
        exec(compile("out = [v * 2 for v in a]", np.__file__, "exec"), ns)
        return ns["out"]

    def _loop(a):
        out = []
        for v in a:
            out.append(v * 2)
        return out

    renamed = types.FunctionType(_loop.__code__.replace(co_filename=np.__file__), globals())

    def threaded(a):
        box = []
        worker = threading.Thread(target=lambda: box.append([v * 2 for v in a]))
        worker.start()
        worker.join()
        return box[0]

    def forked(a):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.write(w, np.asarray([v * 2 for v in a]).tobytes())
            os._exit(0)
        os.waitpid(pid, 0)
        return np.frombuffer(os.read(r, 1 << 16), dtype=a.dtype)
    """
    with session(program, jail_paths) as student:
        def extra_lines(name):
            short, long = (student.call_with(name, (np.arange(n),), inspect=True)["lines"] for n in (10, 100))
            return long - short
        for name in ("exec_string", "exec_as_library", "renamed", "threaded"):
            assert extra_lines(name) >= 90, name  # one traced line (or more) per item
        for name, why in (("paused", "sys.settrace was called"), ("forked", "forked")):
            with pytest.raises(StudentError, match=f"switched off.*{why}"):
                student.call_with(name, (np.arange(10),), inspect=True)


@needs_sandbox
def test_monkeypatching_inside_has_no_effect_outside(jail_paths):
    program = """
    import builtins
    import numpy as np
    np.allclose = lambda *a, **k: True
    np.testing.assert_allclose = lambda *a, **k: None
    builtins.abs = lambda x: 0
    def wrong(x):
        return x * 0
    """
    with session(program, jail_paths) as student:
        out = student.call("wrong", np.ones(3))
    assert not np.allclose(out, np.ones(3))
    assert abs(-2) == 2
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(out, np.ones(3))


@needs_sandbox
def test_hidden_paths_cannot_be_read(jail_paths, course):
    program = f"""
    import os
    def listing(path):
        try:
            return sorted(os.listdir(path))
        except OSError as exc:
            return type(exc).__name__
    def read(path):
        return open(path).read()
    def whoami():
        return os.getuid(), os.getgid(), os.getgroups(), os.getcwd(), len([p for p in os.listdir('/proc') if p.isdigit()])
    def capabilities():
        status = dict(line.split(":", 1) for line in open("/proc/self/status"))
        return status["CapEff"].strip(), status["CapBnd"].strip(), status["NoNewPrivs"].strip()
    """
    with session(program, jail_paths) as student:
        assert student.call("listing", str(course)) in ([], "FileNotFoundError")  # hidden (here under /tmp, itself fresh)
        assert student.call("listing", str(course / "grader")) == "FileNotFoundError"
        with pytest.raises(StudentError) as info:
            student.call("read", str(course / "solutions" / "secret.txt"))
        assert info.value.type_name == "FileNotFoundError"
        with pytest.raises(StudentError):
            student.call("read", str(REPO_ROOT / "grader" / "sandbox" / "session.py"))
        assert student.call("listing", str(REPO_ROOT)) == sorted(p.name for p in jail_paths[1] if p.parent == REPO_ROOT)
        assert ".bashrc" not in student.call("listing", os.path.expanduser("~"))
        uid, gid, groups, cwd, n_procs = student.call("whoami")
        assert student.call("capabilities") == ("0000000000000000", "0000000000000000", "1")
    assert uid == 1000 and gid == 1000 and groups in ([], [1000])
    assert not Path(cwd).is_relative_to(course) and not Path(cwd).is_relative_to(REPO_ROOT)
    assert n_procs < 10  # own pid namespace: host processes are invisible


@needs_sandbox
def test_a_hidden_path_inside_an_exposed_one_stays_hidden(tmp_path, jail_paths):
    shared = tmp_path / "shared"
    (shared / "secret").mkdir(parents=True)
    (shared / "secret" / "key.txt").write_text("k")
    (shared / "public.txt").write_text("p")
    (shared / "grades.csv").write_text("g")
    program = """
    import os
    def look(d):
        return sorted(os.listdir(d)), sorted(os.listdir(os.path.join(d, "secret"))), open(os.path.join(d, "grades.csv")).read()
    """
    hide, expose = [shared / "secret", shared / "grades.csv"], [shared, *jail_paths[1]]
    with StudentSession(textwrap.dedent(program), hide, expose, FAST) as student:
        assert student.call("look", str(shared)) == (["grades.csv", "public.txt", "secret"], [], "")


@needs_sandbox
def test_writing_the_hidden_gradebook_fails_and_leaves_it_unchanged(jail_paths, course):
    before = (course / "gradebook.db").read_bytes()
    program = """
    def overwrite(path):
        with open(path, "wb") as fh:
            fh.write(b"200/8")
    """
    with session(program, jail_paths) as student:
        with pytest.raises(StudentError) as info:
            student.call("overwrite", str(course / "gradebook.db"))
    assert info.value.type_name in ("PermissionError", "OSError", "FileNotFoundError")
    assert (course / "gradebook.db").read_bytes() == before


@needs_sandbox
def test_no_network_to_the_host(jail_paths):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    program = """
    import socket
    def connect(port):
        socket.create_connection(("127.0.0.1", port), timeout=3).close()
        return "connected"
    """
    try:
        with session(program, jail_paths) as student:
            with pytest.raises(StudentError) as info:
                student.call("connect", port)
    finally:
        server.close()
    assert info.value.type_name in ("ConnectionRefusedError", "OSError", "TimeoutError")


@needs_sandbox
def test_os_exit_crashes_and_the_next_request_restarts(jail_paths):
    program = """
    import os
    def die():
        os._exit(1)
    def ok():
        return 7
    """
    with session(program, jail_paths) as student:
        with pytest.raises(StudentCrashed, match="exited with status 1"):
            student.call("die")
        assert student.call("ok") == 7
        assert student.restarts == 1


@needs_sandbox
def test_endless_loop_in_a_function_times_out(jail_paths):
    program = """
    def spin():
        while True:
            pass
    def ok():
        return "alive"
    """
    with session(program, jail_paths, request_timeout=2) as student:
        start = time.monotonic()
        with pytest.raises(StudentTimeout):
            student.call("spin")
        assert time.monotonic() - start < 10
        assert student.call("ok") == "alive"


@needs_sandbox
def test_endless_loop_at_top_level_fails_the_start_clearly(jail_paths):
    program = """
    def f():
        return 1
    while True:
        pass
    """
    with session(program, jail_paths, start_timeout=2) as student:
        with pytest.raises(StudentTimeout, match="could not be loaded"):
            student.call("f")
        start = time.monotonic()
        with pytest.raises(StudentTimeout, match="could not be loaded"):
            student.call("f")  # remembered, not retried
        assert time.monotonic() - start < 1


@needs_sandbox
def test_error_at_top_level_is_a_student_error(jail_paths):
    with session("def f():\n    return 1\nraise NotImplementedError('stub')\n", jail_paths) as student:
        with pytest.raises(StudentError, match="NotImplementedError: stub"):
            student.call("f")


@needs_sandbox
def test_cells_after_a_failing_cell_still_load(jail_paths):
    hide, expose = jail_paths
    with StudentSession(["raise ValueError('cell 0')", "def f():\n    return 2\n"], hide, expose, FAST) as student:
        assert student.call("f") == 2
        assert student.load_errors[0]["type"] == "ValueError"


@needs_sandbox
def test_memory_bomb_is_contained(jail_paths):
    program = """
    def bomb():
        hoard = []
        while True:
            hoard.append(bytearray(100 * 1024 * 1024))
    """
    limits = Limits(wall_seconds=30, memory_bytes=1024 ** 3, output_bytes=1024 ** 2)
    with session(program, jail_paths, limits) as student:
        with pytest.raises((StudentError, StudentCrashed)) as info:
            student.call("bomb")
    if isinstance(info.value, StudentError):
        assert info.value.type_name == "MemoryError"
    else:
        assert "memory" in info.value.reason


@needs_sandbox
@pytest.mark.skipif(not fair_share.jail_memory_limited(), reason="no cgroup memory controller for the jails here")
def test_a_forking_memory_bomb_is_held_to_the_jails_memory(jail_paths):
    """memory_bytes bounds the whole jail, not only each process: RLIMIT_AS is per process, so
    children each under it together held any multiple of it (96 processes x 4 GiB by default),
    enough to push the grading machine into its OOM killer and whoever it picks. Here four
    children try to hold 600 MiB each under a 1.5 GiB limit: two at most may."""
    program = """
    import os, select, time

    def bomb(children, mib):
        r, w = os.pipe()
        for _ in range(children):
            if os.fork() == 0:
                block = bytearray(mib * 1024 * 1024)
                for i in range(0, len(block), 4096):
                    block[i] = 1  # touch every page: resident, not only reserved
                os.write(w, b"x")
                time.sleep(60)
                os._exit(0)
        os.close(w)
        held, deadline = 0, time.monotonic() + 20
        while held < children and time.monotonic() < deadline:
            if select.select([r], [], [], 0.5)[0]:
                chunk = os.read(r, 64)
                if not chunk:
                    break  # every child is gone
                held += len(chunk)
        return held
    """
    limits = Limits(wall_seconds=60, cpu_seconds=60, memory_bytes=1536 * 1024 ** 2, output_bytes=1024 ** 2)
    with session(program, jail_paths, limits) as student:
        try:
            held = student.call("bomb", 4, 600)
        except StudentCrashed:
            held = 0  # the kernel ended the worker itself: contained too
    assert held <= 2, f"{held} children held 600 MiB each under a 1.5 GiB limit"


def _processes_in(pid_namespace: str) -> list[int]:
    """Host pids of the processes in ``pid_namespace`` (``pid:[inode]``, as /proc/PID/ns/pid reads)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/ns/pid") == pid_namespace:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


@needs_sandbox
def test_fork_bomb_is_contained_and_cleaned_up(jail_paths):
    program = """
    import os
    def namespace():
        return os.readlink("/proc/self/ns/pid")
    def bomb():
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """
    limits = Limits(wall_seconds=30, cpu_seconds=30, processes=64, output_bytes=1024 ** 2)
    with session(program, jail_paths, limits, request_timeout=3) as student:
        namespace = student.call("namespace")
        assert _processes_in(namespace), "the jail's processes should be visible from the host while it runs"
        with pytest.raises((StudentTimeout, StudentCrashed, StudentError)):
            student.call("bomb")
    deadline = time.monotonic() + 5
    while _processes_in(namespace) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_in(namespace) == []
    assert subprocess.run(["true"]).returncode == 0


@needs_sandbox
@pytest.mark.skipif(os.geteuid() == 0 and fair_share_unavailable_reason() is not None,
                    reason=f"as root only a cgroup bounds a jail's processes (RLIMIT_NPROC exempts root's uid), and "
                           f"there is none here: {fair_share_unavailable_reason()}")
def test_the_process_limit_holds_for_the_whole_jail_even_as_root(jail_paths):
    program = """
    import os, time
    def spawn(n):
        made = 0
        for _ in range(n):
            try:
                if os.fork() == 0:
                    os.setsid()
                    time.sleep(60)
                    os._exit(0)
            except OSError:
                break
            made += 1
        return made
    """
    limits = Limits(wall_seconds=30, cpu_seconds=30, processes=40, output_bytes=1024 ** 2)
    with session(program, jail_paths, limits) as student:
        made = student.call("spawn", 200)
    assert made < limits.processes, f"the jail started {made} processes with a limit of {limits.processes}"


@needs_sandbox
def test_printing_100_mb_is_truncated_without_hanging(jail_paths):
    program = """
    import sys
    def shout():
        chunk = "x" * (1024 * 1024)
        for _ in range(100):
            sys.stdout.write(chunk)
        return "done"
    """
    start = time.monotonic()
    with session(program, jail_paths) as student:
        assert student.call("shout") == "done"
        output = student.output
    assert time.monotonic() - start < 20
    assert len(output) < FAST.output_bytes + 200 and "output truncated" in output


MODULE_PROGRAM = """
import numpy as np
from utils.nn import Module, Parameter

class TinyLinear(Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = Parameter(np.full((out_features, in_features), 0.5, dtype=np.float32))
        self.bias = Parameter(np.zeros(out_features, dtype=np.float32))
        self.n_patches = 7

    def forward(self, x):
        return x @ self.weight.transpose() + self.bias
"""


@needs_sandbox
def test_a_forged_reply_that_would_grow_when_decoded_is_refused(jail_paths):
    """The student's code owns the worker's process: it can replace the encoder and answer with a
    payload of 1 MiB that names one array 400 times. The trusted side refuses it instead of making
    400 copies (a larger count would have filled the grading machine's memory)."""
    program = """
    import __main__, io, json
    import numpy as np

    def forged_encode(value, **kwargs):
        tree = {"$": "dict", "items": [["ok", True], ["value", {"$": "tuple", "items": [{"$": "array", "key": "a0"}] * 400}]]}
        buf = io.BytesIO()
        np.savez(buf, __meta__=np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8), a0=np.zeros(1 << 17))
        return buf.getvalue()

    def answer(x):
        __main__.codec.encode = forged_encode
        return x
    """
    with session(program, jail_paths) as student:
        with pytest.raises(StudentCrashed, match="more than once"):
            student.call("answer", np.ones(3))


@needs_sandbox
def test_module_request_returns_outputs_and_gradients(jail_paths):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3))
    weight, bias = rng.normal(size=(4, 3)), rng.normal(size=4)
    grad_out = rng.normal(size=(2, 4))
    with session(MODULE_PROGRAM, jail_paths) as student:
        res = student.module("TinyLinear", {"in_features": 3, "out_features": 4}, [x],
                             state={"weight": weight, "bias": bias}, backward=grad_out, attrs=("n_patches",),
                             dtype="float64", input_grad=True)
    assert res.outputs.dtype == np.float64
    np.testing.assert_allclose(res.outputs, x @ weight.T + bias)
    assert set(res.parameters) == {"weight", "bias"} and res.parameters["weight"].shape == (4, 3)
    np.testing.assert_allclose(res.parameters["weight"].grad, grad_out.T @ x)
    np.testing.assert_allclose(res.parameters["bias"].grad, grad_out.sum(axis=0))
    np.testing.assert_allclose(res.input_grads[0], grad_out @ weight)
    assert res.attrs == {"n_patches": 7} and res.training is False


# ---------------------------------------------------------------------- notebooks
def _notebook(tmp_path, *cells):
    path = tmp_path / "in.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), path)
    return path


@needs_sandbox
def test_run_notebook_returns_executed_outputs(tmp_path, jail_paths):
    hide, expose = jail_paths
    nb = _notebook(tmp_path, "x = 20 + 22\nx", "1/0", "print('still running')")
    run = run_notebook(nb, tmp_path / "out.ipynb", hide, expose, FAST, cell_timeout=20)
    assert run.status == "ok", run.reason
    cells = nbformat.read(run.output_path, as_version=4).cells
    assert cells[0].outputs[0]["data"]["text/plain"] == "42"
    assert cells[1].outputs[0]["ename"] == "ZeroDivisionError"
    assert cells[2].outputs[0]["text"] == "still running\n"
    assert run.cell_errors == [{"cell": 1, "ename": "ZeroDivisionError", "evalue": "division by zero"}]


@needs_sandbox
def test_run_notebook_reports_a_dead_kernel(tmp_path, jail_paths):
    hide, expose = jail_paths
    run = run_notebook(_notebook(tmp_path, "import os; os._exit(0)", "1"), tmp_path / "out.ipynb", hide, expose, FAST,
                       cell_timeout=20)
    assert run.status == "kernel_died", run.reason


@needs_sandbox
def test_run_notebook_reports_an_endless_cell(tmp_path, jail_paths):
    hide, expose = jail_paths
    run = run_notebook(_notebook(tmp_path, "while True:\n    pass", "1"), tmp_path / "out.ipynb", hide, expose, FAST,
                       cell_timeout=2)
    assert run.status == "timed_out" and "cell 0" in run.reason


@pytest.mark.skipif(fair_share_unavailable_reason() is not None, reason=f"no cgroups here: {fair_share_unavailable_reason()}")
def test_the_cgroups_of_a_killed_grader_are_swept():
    from grader.sandbox import fair_share

    gone = subprocess.Popen(["true"])
    gone.wait()  # its pid now names no process
    live = fair_share.JailCgroup(1.0, 10)  # (making one sweeps too: make it first)
    stale = fair_share._backend()[0].create(f"jail-{gone.pid}-stale", 1.0, 10, 1024 ** 3)
    try:
        assert all(p.is_dir() for p in stale)
        assert fair_share.sweep_stale() >= len(stale)
        assert not any(p.exists() for p in stale) and all(p.is_dir() for p in live.paths)
    finally:
        live.remove()
        for path in stale:
            if path.exists():
                path.rmdir()


@pytest.mark.skipif(fair_share_unavailable_reason() is not None, reason=f"no cgroups here: {fair_share_unavailable_reason()}")
def test_the_jails_weigh_as_many_processes_as_there_are_jails():
    """Left at its default weight, the jails' parent group would compete with the machine's other
    processes as one process, however many jails it holds: jailed grading starves on a busy machine."""
    from grader.sandbox import fair_share

    first = fair_share.JailCgroup(1.0, 16)
    jails = [first]
    try:
        parent = first.paths[0].parent
        weight_file = parent / ("cpu.shares" if (parent / "cpu.shares").exists() else "cpu.weight")
        unit = 1024 if weight_file.name == "cpu.shares" else 100
        weight_file.write_text(str(unit))  # the default weight: one process's
        jails += [fair_share.JailCgroup(1.0, 16) for _ in range(2)]
        assert int(weight_file.read_text()) >= 3 * unit
    finally:
        for jail in jails:
            jail.remove()


# ---------------------------------------------------------------------- what each jail starts with
@needs_sandbox
def test_a_seeded_file_is_each_jails_own_copy(tmp_path):
    """Seeded content lands in the jail's own home, writable there; what one jail does to its copy
    never reaches the next jail. Seeds outside the scratch areas are refused."""
    seed = {f"{jail.JAIL_HOME}/.cache/note.txt": b"from the grader"}
    script = (f"p = '{jail.JAIL_HOME}/.cache/note.txt'\nprint(open(p).read())\n"
              "open(p, 'w').write('changed by a student')\nprint(open(p).read())")
    first = jail.run([sys.executable, "-c", script], seed=seed, limits=FAST)
    second = jail.run([sys.executable, "-c", script], seed=seed, limits=FAST)
    assert first.stdout.splitlines() == ["from the grader", "changed by a student"], first.stderr
    assert second.stdout.splitlines()[0] == "from the grader"
    with pytest.raises(ValueError, match="scratch"):
        jail.run([sys.executable, "-c", "pass"], seed={"/etc/profile": b"x"})


@needs_sandbox
def test_jails_start_with_the_font_list_and_utils_bytecode_and_cannot_write_either(jail_paths):
    """matplotlib finds its font list ready (it does not rebuild it) and ``utils`` imports from bytecode
    the trusted side compiled, which the jail cannot write."""
    from grader.sandbox.warm_caches import font_cache_seed

    seed = font_cache_seed()
    assert seed and all(p.startswith(f"{jail.JAIL_HOME}/.matplotlib/fontlist-") for p in seed)
    hide, expose = jail_paths
    script = textwrap.dedent(f"""
        import os
        d = {jail.JAIL_HOME + '/.matplotlib'!r}
        before = {{n: os.stat(os.path.join(d, n)).st_mtime_ns for n in os.listdir(d)}} if os.path.isdir(d) else {{}}
        import matplotlib.font_manager, utils
        print({{n: os.stat(os.path.join(d, n)).st_mtime_ns for n in os.listdir(d)}} == before != {{}})
        print(utils.__cached__ is not None and os.path.exists(utils.__cached__))
        try:
            open(os.path.join(os.path.dirname(utils.__cached__), "x.pyc"), "wb")
            print("wrote")
        except OSError:
            print("read-only")
    """)
    argv, files = [sys.executable, "-B", "{base}/probe.py"], {"probe.py": script}
    result = jail.run(argv, hide=hide, expose=expose, limits=FAST, files=files, seed=seed)
    assert result.stdout.splitlines() == ["True", "True", "read-only"], result.stdout + result.stderr
    unseeded = jail.run(argv, hide=hide, expose=expose, limits=FAST, files=files)
    assert unseeded.stdout.splitlines()[0] == "False"  # without the seed, matplotlib builds its own


@needs_sandbox
def test_the_check_worker_loads_pyplot_when_the_students_code_first_uses_it(jail_paths):
    program = """
        import sys
        import matplotlib.pyplot as plt

        def loaded():
            return type(sys.modules["matplotlib.pyplot"]).__name__ == "module"

        def draw():
            fig, ax = plt.subplots()
            ax.plot([1, 2, 3])
            return len(ax.lines)
    """
    with session(program, jail_paths) as student:
        assert student.call("loaded") is False
        assert student.call("draw") == 1
        assert student.call("loaded") is True
