"""The student-side worker: runs INSIDE the sandbox, as the sandbox's unprivileged uid.

Usage: ``python worker.py BASE``. ``BASE/program.json`` holds the student program (a list of
Python source chunks, e.g. notebook cells). The worker executes it in a fresh globals dict,
then serves requests one at a time. Each request is a line ``request ID`` on stdin naming
``BASE/requests/ID.npz`` (read-only here: the trusted side writes it). The answer goes back on
the protocol channel as a line ``reply ID NBYTES`` followed by NBYTES of ``codec`` payload; the
channel is the original stdout, dup'ed to a private fd before fd 1 is pointed at stderr and
fd 0 at /dev/null. So prints cannot corrupt the protocol (and a forged reply only forges the
student's own answer, which the trusted side judges anyway). Nothing is written to disk.

Requests (``kind``): ``call`` a function (maybe reporting its arguments afterwards and the
lines its Python code ran), ``get`` a global, ``module`` (build a class, maybe
load a state dict, train/eval, call a method, maybe backward, report outputs and gradients).
Errors raised by student code are answered as ``{"ok": False, "error": {type, message,
traceback}}`` with only the student's own frames in the traceback.

Needs only the standard library, NumPy and (for tensors and modules) ``utils``.
"""
import contextlib
import importlib.util
import json
import linecache
import os
import sys
import traceback

import numpy as np

try:
    import _grader_codec as codec  # the copy placed next to this file in the sandbox
except ImportError:  # run from the source tree (tests, debugging)
    from grader.sandbox import codec

STUDENT_FILE_PREFIX = "<cell "

try:  # the library's answers to the exercises refuse to run inside the answers themselves
    from utils.checks.delegation import activate_for_answer, install_all
except ImportError:  # no utils, so nothing to delegate to
    install_all, activate_for_answer = (lambda: None), (lambda name: contextlib.nullcontext())
try:  # imported before the submission's code runs: its audit hook notes the code the submission makes
    from utils.checks.tracing import count_lines_where  # at run time (exec, compile), whose lines count as its own
except ImportError:  # no utils: nothing inspects calls
    count_lines_where = None


def describe_exception(exc: BaseException) -> dict:
    """Type, message and the student's own traceback frames of ``exc``."""
    try:
        message = str(exc)
    except BaseException:
        message = "<the exception's message could not be shown>"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(STUDENT_FILE_PREFIX)]
    return {"type": type(exc).__name__, "message": message, "traceback": traceback.format_list(frames)}


# Imported when the student's code first uses them, not when the program imports them: the checks
# call functions and build modules and never draw, yet ``import matplotlib.pyplot`` in a notebook's
# setup cell was half of a worker's start-up (about 0.2 s of CPU per submission). A program that does
# use pyplot gets the real module at its first attribute access, as if imported eagerly.
LAZY_MODULES = frozenset({"matplotlib.pyplot"})


class LazyImports:
    """A meta path finder that hands out the modules in ``LAZY_MODULES`` behind importlib's ``LazyLoader``."""

    def find_spec(self, name, path, target=None):
        if name not in LAZY_MODULES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
        return None


def load_program(path, namespace) -> list:
    """Execute every chunk of the program in ``namespace``; return the errors raised, per chunk."""
    with open(path, encoding="utf-8") as fh:
        program = json.load(fh)
    errors = []
    for i, source in enumerate(program["chunks"]):
        filename = f"{STUDENT_FILE_PREFIX}{i}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        try:
            exec(compile(source, filename, "exec"), namespace)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt included: student code
            errors.append({"chunk": i, **describe_exception(exc)})
            if not program.get("continue_on_error", False):
                break
    return errors


def make_tensor(array, requires_grad=False):
    from utils import Tensor

    return Tensor(array, requires_grad=bool(requires_grad) and array.dtype.kind == "f", dtype=array.dtype)


def lookup(namespace, name):
    if name not in namespace:
        raise NameError(f"name '{name}' is not defined (did you run/keep the cell that defines it?)")
    return namespace[name]


def to_array(value):
    """NumPy array of a tensor/array-like, or None."""
    if value is None:
        return None
    if hasattr(value, "numpy") and callable(value.numpy):
        return np.asarray(value.numpy())
    data = getattr(value, "data", value)
    if hasattr(data, "get") and type(data).__module__.split(".")[0] == "cupy":
        return data.get()
    return np.asarray(data)


def wrap_input(value, dtype, requires_grad):
    """Float arrays become Tensors (cast to ``dtype`` if given); other values pass unchanged."""
    from utils import Tensor

    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        arr = value.astype(dtype) if dtype is not None else value
        return Tensor(arr, requires_grad=requires_grad, dtype=arr.dtype)
    return value


def handle_call(req, namespace):
    """``name(*args, **kwargs)``; with ``backward``, also backpropagate it from the first output
    and answer ``{"outputs", "input_grads"}`` (one gradient or None per positional argument).
    With ``inspect``, answer ``{"outputs", "args_after", "lines", "output_type"}``: the positional
    arguments as they are after the call (so a change made to the caller's arrays shows), the line
    events traced in student code (so a Python loop over the data shows) and the class name of
    what was returned (a Tensor and an ndarray look alike once encoded)."""
    fn = lookup(namespace, req["name"])
    args = req.get("args", ())
    if req.get("inspect"):
        outputs, lines = count_lines_where(lambda name: name.startswith(STUDENT_FILE_PREFIX), fn, args, req.get("kwargs", {}))
        return {"outputs": outputs, "args_after": list(args), "lines": lines, "output_type": type(outputs).__name__}
    outputs = fn(*args, **req.get("kwargs", {}))
    if req.get("backward") is None:
        return outputs
    first = outputs[0] if isinstance(outputs, (tuple, list)) else outputs
    if not hasattr(first, "backward"):
        raise TypeError(f"{req['name']} returned a {type(first).__name__}, not a Tensor, so gradients cannot flow back through it")
    first.backward(req["backward"])
    return {"outputs": outputs,
            "input_grads": [to_array(a.grad) if getattr(a, "requires_grad", False) and a.grad is not None else None for a in args]}


def handle_get(req, namespace):
    return lookup(namespace, req["name"])


def expand_corner(value, dtype=None):
    """A state entry sent as ``{"shape": S, "corner": A}``: zeros of shape S (in ``dtype``, else A's) with
    A in its first corner (how a large, mostly-zero weight crosses the boundary); anything else as it
    is, floats cast to ``dtype`` when given. The zeros come from calloc: the pages outside the corner
    take no memory until the model's own parameter is written from them."""
    if isinstance(value, dict) and set(value) == {"shape", "corner"}:
        full = np.zeros(tuple(int(n) for n in value["shape"]), dtype=dtype or value["corner"].dtype)
        full[tuple(slice(0, n) for n in value["corner"].shape)] = value["corner"]
        return full
    if dtype is not None and isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(dtype)
    return value


def handle_module(req, namespace):
    cls = lookup(namespace, req["class_name"])
    dtype = np.dtype(req["dtype"]) if req.get("dtype") else None
    model = cls(**req.get("init_kwargs", {}))
    if dtype is not None:
        model.to(dtype=dtype)
    state = req.get("state")
    if state is not None:
        model.load_state_dict({k: expand_corner(v, dtype) for k, v in state.items()})
    model.train() if req.get("train") else model.eval()
    input_grad = bool(req.get("input_grad"))
    inputs = [wrap_input(x, dtype, input_grad) for x in req.get("inputs", [])]
    kwargs = {k: wrap_input(v, dtype, False) for k, v in req.get("method_kwargs", {}).items()}
    outputs = getattr(model, req.get("method") or "forward")(*inputs, **kwargs)
    if req.get("backward") is not None:
        first = outputs[0] if isinstance(outputs, (tuple, list)) else outputs
        if not hasattr(first, "backward"):
            raise TypeError(f"{req['class_name']}.{req.get('method') or 'forward'} returned a {type(first).__name__}, "
                            "not a Tensor, so gradients cannot flow back through it")
        first.backward(req["backward"])
    parameters = {}
    for name, p in model.named_parameters():
        parameters[name] = {"shape": tuple(int(n) for n in p.shape), "dtype": str(p.dtype), "grad": to_array(p.grad)}
    result = {
        "outputs": outputs,
        "parameters": parameters,
        "input_grads": [to_array(getattr(x, "grad", None)) if getattr(x, "requires_grad", False) else None for x in inputs],
        "attrs": {name: getattr(model, name) for name in req.get("attrs", [])},
        "training": bool(getattr(model, "training", False)),
    }
    if req.get("return_state"):
        result["state"] = {k: to_array(v) for k, v in model.state_dict().items()}
    return result


HANDLERS = {"call": handle_call, "get": handle_get, "module": handle_module}


def answer(base, request_id, namespace):
    try:
        req = codec.read_file(os.path.join(base, "requests", f"{request_id}.npz"), make_tensor=make_tensor)
        handler = HANDLERS[req["kind"]]
    except Exception as exc:
        return {"ok": False, "error": {"type": "ProtocolError", "message": f"bad request: {exc}", "traceback": []}}
    try:
        with activate_for_answer(req.get("name") or req.get("class_name")):
            value = handler(req, namespace)
    except BaseException as exc:
        return {"ok": False, "error": describe_exception(exc)}
    return {"ok": True, "value": value}


def flush_student_output():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def send(proto, request_id, reply):
    flush_student_output()
    try:
        payload = codec.encode(reply)
    except codec.CodecError as exc:
        error = {"type": "TypeError", "message": f"the grader cannot read back what your code returned: {exc}", "traceback": []}
        payload = codec.encode({"ok": False, "error": error})
    proto.write(f"reply {request_id} {len(payload)}\n".encode() + payload)
    proto.flush()


def main():
    base = sys.argv[1]
    proto = os.fdopen(os.dup(1), "wb")
    requests = os.fdopen(os.dup(0), "r", encoding="ascii")
    os.dup2(2, 1)  # student prints go to the captured, capped stderr stream
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    install_all()
    sys.meta_path.insert(0, LazyImports())
    errors = load_program(os.path.join(base, "program.json"), namespace)
    send(proto, "start", {"ok": True, "value": {"errors": errors}})
    for line in requests:
        parts = line.split()
        if len(parts) == 2 and parts[0] == "request" and parts[1].isdigit():
            send(proto, parts[1], answer(base, parts[1], namespace))


if __name__ == "__main__":
    main()
