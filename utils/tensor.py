"""A reverse-mode autograd ``Tensor`` on NumPy or CuPy.

Every op computes its forward value and returns a new Tensor that remembers its
parents and a ``backward`` closure mapping the output gradient to one gradient
per parent. ``Tensor.backward()`` walks the graph in reverse topological order.
Gradients accumulate in ``.grad`` of leaf tensors until they are zeroed.

How a new Tensor is placed and typed (the same for ``Tensor(...)``, ``tensor(...)``,
``Parameter(...)``, layers' weights and ``DataLoader`` batches):

* **Device.** ``device=`` wins when given. Otherwise data that already lives on a device
  keeps it (a Tensor, or a CuPy array: stays on the GPU), and everything else (a list, a
  scalar, a NumPy array) goes to the *default device*: ``set_default_device(...)``, else
  ``$UTILS_DEVICE`` (see ``utils.backend``). This is ``torch.tensor``'s rule under
  ``torch.set_default_device``; so with ``UTILS_DEVICE=cuda``, ``Tensor(np_array)`` is on
  the GPU like every layer and batch.
* **Dtype.** ``dtype=`` wins when given. Otherwise a Tensor keeps its dtype, and other
  data is converted: any floating data (Python floats, float64 or float16 arrays) becomes
  float32 (``DEFAULT_DTYPE``), integer data becomes int64, booleans stay bool. Unlike
  ``torch.tensor``, a float64 NumPy array becomes float32 too: NumPy's random draws are
  float64, layers are float32, and one rule without exceptions is easier to remember.
  Ask for float64 explicitly (``dtype=np.float64``, ``layer.double()``), e.g. for
  gradient checks.
* **Memory.** A NumPy array that needs no conversion is shared, not copied (as
  ``torch.as_tensor``); ops never modify their inputs.

Results of ops keep their inputs' device and dtype; nothing is moved behind your back.
"""
from __future__ import annotations

import contextlib
import functools
import math
import threading

import numpy as np

from .backend import asnumpy, check_device, default_device, device_of, get_array_module, to_device

DEFAULT_DTYPE = np.float32
_state = threading.local()


def is_grad_enabled() -> bool:
    """False inside a ``no_grad()`` block."""
    return getattr(_state, "grad_enabled", True)


class no_grad(contextlib.ContextDecorator):
    """Context manager (or decorator) in which ops record no graph."""

    def __enter__(self):
        self._previous = is_grad_enabled()
        _state.grad_enabled = False
        return self

    def __exit__(self, *exc):
        _state.grad_enabled = self._previous
        return False


class enable_grad(contextlib.ContextDecorator):
    """Context manager that turns graph recording back on inside ``no_grad``."""

    def __enter__(self):
        self._previous = is_grad_enabled()
        _state.grad_enabled = True
        return self

    def __exit__(self, *exc):
        _state.grad_enabled = self._previous
        return False


def _is_floating(dtype) -> bool:
    return np.issubdtype(np.dtype(dtype), np.floating)


def _to_array(data, dtype=None, device=None):
    """The backend array of a new Tensor, by the device and dtype rules in this module's docstring."""
    from_tensor = isinstance(data, Tensor)
    if from_tensor:
        data = data.data
    if device is None:
        on_device = from_tensor or get_array_module(data) is not np
        device = device_of(data) if on_device else default_device()
    arr = to_device(data, device)
    if dtype is not None:
        dtype = np.dtype(dtype)
    elif from_tensor:
        dtype = arr.dtype
    elif arr.dtype.kind == "f":
        dtype = np.dtype(DEFAULT_DTYPE)
    elif arr.dtype.kind in "iu":
        dtype = np.dtype(np.int64)
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return arr


def fresh_gradients(backward):
    """Mark an op's ``backward`` closure as returning arrays that nothing else references.

    The gradients it returns are new arrays (or views of new arrays), a different one for
    each parent, never its input ``g`` nor anything the op keeps: so ``Tensor.backward``
    may store them in a leaf's ``.grad`` without copying them first. Unmarked closures
    (the default) get that copy.
    """
    backward.fresh_gradients = True
    return backward


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added or stretched, back to ``shape``."""
    if grad.shape == tuple(shape):
        return grad
    ndiff = grad.ndim - len(shape)
    if ndiff > 0:
        grad = grad.sum(axis=tuple(range(ndiff)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


class Tensor:
    """An n-dimensional array that records the ops applied to it.

    Args:
        data: array-like (NumPy or CuPy array, list, scalar, or a Tensor).
        requires_grad: whether gradients should be computed for this tensor.
        dtype: the element type; otherwise a Tensor's own dtype, float32 for other
            floating data, int64 for integers (the module docstring's dtype rule).
        device: ``'cpu'`` or ``'cuda'``; otherwise a Tensor's or CuPy array's own
            device, the default device for anything else (the device rule).
    """

    __array_priority__ = 1000  # make ``ndarray + Tensor`` call Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, dtype=None, device=None):
        self.data = _to_array(data, dtype=dtype, device=None if device is None else check_device(device))
        if requires_grad and not _is_floating(self.data.dtype):
            raise TypeError(f"only floating tensors can require gradients, got dtype {self.data.dtype}")
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self._parents = ()
        self._backward = None
        self._op = ""

    # ------------------------------------------------------------------ construction
    @classmethod
    def _make(cls, data, parents=(), backward=None, op=""):
        """Wrap an op's result without casting; record the graph when needed."""
        out = object.__new__(cls)
        out.data = data
        out.grad = None
        out._op = op
        if parents and getattr(_state, "grad_enabled", True):  # (is_grad_enabled(), without the call)
            for p in parents:  # (a loop, not any(generator): this runs for every op)
                if p.requires_grad:
                    out.requires_grad = True
                    out._parents = tuple(parents)
                    out._backward = backward
                    return out
        out.requires_grad = False
        out._parents = ()
        out._backward = None
        return out

    def _lift(self, other) -> "Tensor":
        """Turn a scalar or array operand into a constant Tensor of this tensor's dtype."""
        if isinstance(other, Tensor):
            return other
        arr = self.xp.asarray(other)
        if _is_floating(self.data.dtype) and arr.dtype != self.data.dtype:
            arr = arr.astype(self.data.dtype)
        return Tensor._make(arr)

    # ------------------------------------------------------------------ properties
    @property
    def xp(self):
        """The array module (``numpy`` or ``cupy``) holding the data."""
        return get_array_module(self.data)

    @property
    def shape(self) -> tuple:
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self) -> str:
        return device_of(self.data)

    @property
    def size(self) -> int:
        return int(self.data.size)

    @property
    def is_leaf(self) -> bool:
        return not self._parents

    def __len__(self) -> int:
        return self.data.shape[0]

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        dev = ", device='cuda'" if self.device == "cuda" else ""
        body = np.array2string(asnumpy(self.data), precision=4, separator=", ", threshold=20)
        return f"Tensor({body}, dtype={self.dtype}{dev}{grad})"

    # ------------------------------------------------------------------ conversion
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (copied to the host from a GPU)."""
        return asnumpy(self.data)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self) -> "Tensor":
        """The same data, cut from the graph."""
        return Tensor._make(self.data)

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        if flag and not _is_floating(self.dtype):
            raise TypeError(f"only floating tensors can require gradients, got dtype {self.dtype}")
        self.requires_grad = bool(flag)
        return self

    def zero_grad(self) -> None:
        self.grad = None

    def astype(self, dtype) -> "Tensor":
        """A copy with another dtype; gradients flow back in the original dtype."""
        dtype = np.dtype(dtype)
        src = self.dtype

        def backward(g):
            return (g.astype(src),)

        return Tensor._make(self.data.astype(dtype), (self,), backward, "astype")

    def float(self) -> "Tensor":
        return self.astype(np.float32)

    def double(self) -> "Tensor":
        return self.astype(np.float64)

    def to(self, device=None, dtype=None) -> "Tensor":
        """Move to ``device`` and/or change ``dtype``; differentiable."""
        out = self
        if dtype is not None and np.dtype(dtype) != self.dtype:
            out = out.astype(dtype)
        if device is not None and check_device(device) != out.device:
            src_device = out.device

            def backward(g):
                return (to_device(g, src_device),)

            out = Tensor._make(to_device(out.data, device), (out,), backward, "to")
        return out

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self) -> "Tensor":
        return self.to("cuda")

    # ------------------------------------------------------------------ autograd
    def backward(self, grad=None) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        ``grad`` defaults to 1 for a one-element tensor; otherwise pass the upstream
        gradient, an array of ``self.shape``.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad (did you call it inside no_grad, or on a detached tensor?)")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward() without a gradient needs a one-element tensor, got shape {self.shape}")
            grad = self.xp.ones_like(self.data)
        else:
            if not (type(grad) is np.ndarray and type(self.data) is np.ndarray and grad.dtype == self.data.dtype):
                grad = _to_array(grad, dtype=self.dtype, device=self.device)  # (an array already in place is used as is)
            if grad.shape != self.data.shape:
                raise ValueError(f"backward(): gradient shape {tuple(grad.shape)} does not match tensor shape {self.shape}")

        order, leaves, seen = [], {}, set()  # ops in topological order; leaves (no parents) apart
        stack = [(self, False)]
        while stack:  # iterative DFS: long LSTM graphs must not hit the recursion limit
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if not node._parents:
                leaves[id(node)] = node
                continue
            if id(node) in seen:  # (marked when expanded, not when pushed: an op must follow ALL its users)
                continue
            seen.add(id(node))
            stack.append((node, True))
            for parent in node._parents:
                if parent.requires_grad and id(parent) not in seen:
                    stack.append((parent, False))

        # id(node) -> (gradient, owned): owned means no other array shares its memory (a sum made
        # here, or what a ``fresh_gradients`` backward returned), so a leaf may keep it without a copy.
        grads = {id(self): (grad, False)}
        previous = is_grad_enabled()
        _state.grad_enabled = False  # no_grad(), without a context manager's cost on every call
        try:
            for node in reversed(order):  # every op after all the ops that use its output
                g, owned = grads.pop(id(node), (None, False))
                if g is None:
                    continue
                parent_grads = node._backward(g)
                fresh = getattr(node._backward, "fresh_gradients", False)
                if fresh and len(parent_grads) > 1:
                    handed = [id(pg) for pg in parent_grads if pg is not None]
                    fresh = len(set(handed)) == len(handed)  # one array handed to two parents is owned by neither
                for parent, pg in zip(node._parents, parent_grads):
                    if pg is None or not parent.requires_grad:
                        continue
                    key = id(parent)
                    grads[key] = (grads[key][0] + pg, True) if key in grads else (pg, fresh)
            for leaf in leaves.values():  # then the leaves, each with the sum of everything it received
                g, owned = grads.pop(id(leaf), (None, False))
                if g is None:
                    continue
                if leaf.grad is None:
                    leaf.grad = g if owned else g.copy()
                else:
                    leaf.grad = leaf.grad + g
        finally:
            _state.grad_enabled = previous

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other):
        other = self._lift(other)
        a_shape, b_shape = self.shape, other.shape

        def backward(g):
            return unbroadcast(g, a_shape), unbroadcast(g, b_shape)

        return Tensor._make(self.data + other.data, (self, other), backward, "add")

    def __radd__(self, other):
        return self._lift(other) + self

    def __sub__(self, other):
        other = self._lift(other)
        a_shape, b_shape = self.shape, other.shape

        def backward(g):
            return unbroadcast(g, a_shape), unbroadcast(-g, b_shape)

        return Tensor._make(self.data - other.data, (self, other), backward, "sub")

    def __rsub__(self, other):
        return self._lift(other) - self

    def __mul__(self, other):
        other = self._lift(other)
        a, b = self.data, other.data

        def backward(g):
            return unbroadcast(g * b, a.shape), unbroadcast(g * a, b.shape)

        return Tensor._make(a * b, (self, other), backward, "mul")

    def __rmul__(self, other):
        return self._lift(other) * self

    def __truediv__(self, other):
        other = self._lift(other)
        a, b = self.data, other.data

        def backward(g):
            return unbroadcast(g / b, a.shape), unbroadcast(-g * a / (b * b), b.shape)

        return Tensor._make(a / b, (self, other), backward, "div")

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def __neg__(self):
        return Tensor._make(-self.data, (self,), lambda g: (-g,), "neg")

    def __pow__(self, exponent):
        if isinstance(exponent, Tensor):
            raise TypeError("Tensor ** Tensor is not supported; use exp(b * log(a))")
        a = self.data
        p = float(exponent)
        out = a ** p if p != 2.0 else a * a

        def backward(g):
            return (g * p * a ** (p - 1.0),)

        return Tensor._make(out.astype(a.dtype, copy=False), (self,), backward, "pow")

    def __matmul__(self, other):
        other = self._lift(other)
        a, b = self.data, other.data
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("matmul needs tensors with at least one dimension")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(f"matmul shape mismatch: {self.shape} @ {other.shape} (inner sizes {a.shape[-1]} and {b.shape[-2 if b.ndim > 1 else 0]})")
        xp = self.xp

        def backward(g):
            a2 = a if a.ndim > 1 else a[None, :]
            b2 = b if b.ndim > 1 else b[:, None]
            g2 = g
            if b.ndim == 1:  # restore b's dropped column first: a 1-D @ 1-D gradient is 0-D
                g2 = xp.expand_dims(g2, -1)
            if a.ndim == 1:
                g2 = xp.expand_dims(g2, -2)
            ga = g2 @ xp.swapaxes(b2, -1, -2)
            gb = xp.swapaxes(a2, -1, -2) @ g2
            if a.ndim == 1:
                ga = ga.reshape(ga.shape[:-2] + (ga.shape[-1],))
            if b.ndim == 1:
                gb = gb.reshape(gb.shape[:-2] + (gb.shape[-2],))
            return unbroadcast(ga, a.shape), unbroadcast(gb, b.shape)

        return Tensor._make(a @ b, (self, other), backward, "matmul")

    def __rmatmul__(self, other):
        return self._lift(other) @ self

    # comparisons give boolean tensors that never require grad
    def _compare(self, other, fn):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._make(fn(self.data, other))

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    def eq(self, other) -> "Tensor":
        """Elementwise equality as a boolean tensor (``==`` keeps Python identity semantics)."""
        return self._compare(other, lambda a, b: a == b)

    __hash__ = object.__hash__

    # ------------------------------------------------------------------ reductions
    def sum(self, axis=None, keepdims: bool = False):
        """Sum over ``axis`` (an int, a tuple, or None for all)."""
        a_shape = self.shape
        xp = self.xp
        axes = _normalize_axes(axis, self.ndim)

        def backward(g):
            if not keepdims:
                g = g.reshape(tuple(1 if i in axes else n for i, n in enumerate(a_shape)))
            return (xp.broadcast_to(g, a_shape),)

        return Tensor._make(self.data.sum(axis=axes, keepdims=keepdims), (self,), backward, "sum")

    def mean(self, axis=None, keepdims: bool = False):
        """Mean over ``axis``: the sum times 1 / count (in this tensor's dtype), as one op."""
        a_shape = self.shape
        xp = self.xp
        axes = _normalize_axes(axis, self.ndim)
        count = 1
        for i in axes:
            count *= a_shape[i]
        scale = xp.asarray(1.0 / max(count, 1))  # 0-d
        if _is_floating(self.data.dtype):
            scale = scale.astype(self.data.dtype)

        def backward(g):
            if not keepdims:
                g = g.reshape(tuple(1 if i in axes else n for i, n in enumerate(a_shape)))
            return (xp.broadcast_to(g * scale, a_shape),)

        return Tensor._make(self.data.sum(axis=axes, keepdims=keepdims) * scale, (self,), backward, "mean")

    def var(self, axis=None, keepdims: bool = False, unbiased: bool = True):
        """Variance; ``unbiased=True`` divides by n - 1 as ``torch.var`` does."""
        axes = _normalize_axes(axis, self.ndim)
        count = 1
        for i in axes:
            count *= self.shape[i]
        centred = self - self.mean(axis=axes, keepdims=True)
        denom = count - 1 if unbiased else count
        return (centred * centred).sum(axis=axes, keepdims=keepdims) * (1.0 / max(denom, 1))

    def max(self, axis=None, keepdims: bool = False):
        """Maximum over ``axis``; ties share the gradient equally (as ``torch.amax``)."""
        axes = _normalize_axes(axis, self.ndim)
        a = self.data
        out = a.max(axis=axes, keepdims=True)

        def backward(g):
            mask = (a == out).astype(a.dtype)
            mask /= mask.sum(axis=axes, keepdims=True)
            if not keepdims:
                g = g.reshape(out.shape)
            return (mask * g,)

        value = out if keepdims else out.reshape(tuple(n for i, n in enumerate(a.shape) if i not in axes))
        return Tensor._make(value, (self,), backward, "max")

    def min(self, axis=None, keepdims: bool = False):
        return -((-self).max(axis=axis, keepdims=keepdims))

    def argmax(self, axis=None) -> "Tensor":
        """Indices of the maxima (no gradient)."""
        return Tensor._make(self.data.argmax(axis=axis))

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape):
        """Reshape to ``shape`` (one dimension may be -1)."""
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        a_shape = self.shape
        try:
            out = self.data.reshape(shape)
        except ValueError:
            raise ValueError(f"cannot reshape a tensor of shape {a_shape} ({self.size} elements) into {tuple(shape)}") from None
        return Tensor._make(out, (self,), lambda g: (g.reshape(a_shape),), "reshape")

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        """Merge dimensions ``start_dim..end_dim`` into one."""
        n = self.ndim
        start, end = start_dim % n if n else 0, end_dim % n if n else 0
        shape = self.shape[:start] + (-1,) + self.shape[end + 1:]
        return self.reshape(shape)

    def transpose(self, dim0: int = -2, dim1: int = -1):
        """Swap two dimensions (``torch.transpose``)."""
        xp = self.xp
        return Tensor._make(xp.swapaxes(self.data, dim0, dim1), (self,), lambda g: (xp.swapaxes(g, dim0, dim1),), "transpose")

    @property
    def T(self):
        if self.ndim != 2:
            raise ValueError(f".T needs a 2-D tensor, got shape {self.shape}; use transpose(dim0, dim1)")
        return self.transpose(0, 1)

    def permute(self, *dims):
        """Reorder dimensions: ``out.shape[i] == self.shape[dims[i]]``."""
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        if sorted(d % self.ndim for d in dims) != list(range(self.ndim)):
            raise ValueError(f"permute needs a permutation of {self.ndim} dims, got {dims}")
        inverse = tuple(np.argsort([d % self.ndim for d in dims]))
        xp = self.xp
        return Tensor._make(xp.transpose(self.data, dims), (self,), lambda g: (xp.transpose(g, inverse),), "permute")

    def unsqueeze(self, dim: int):
        dim = dim if dim >= 0 else dim + self.ndim + 1
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        dim = dim % self.ndim
        if self.shape[dim] != 1:
            return self
        return self.reshape(self.shape[:dim] + self.shape[dim + 1:])

    def expand(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        a_shape = self.shape
        out = self.xp.broadcast_to(self.data, shape)
        return Tensor._make(out, (self,), lambda g: (unbroadcast(g, a_shape),), "expand")

    def __getitem__(self, index):
        index = _unwrap_index(index)
        a_shape, dtype = self.shape, self.dtype
        xp = self.xp
        advanced = _is_advanced(index)

        def backward(g):
            full = xp.zeros(a_shape, dtype=dtype)
            if advanced:
                _scatter_add(full, index, g)
            else:
                full[index] = g
            return (full,)

        return Tensor._make(self.data[index], (self,), backward, "getitem")

    def gather(self, dim: int, index) -> "Tensor":
        """Pick entries along ``dim`` by ``index`` (``torch.gather``); gradients scatter back.

        ``out[i][j][k] = self[index[i][j][k]][j][k]`` for ``dim=0`` (likewise for other dims).
        ``index`` holds integers in ``[0, self.shape[dim])`` and has ``self.ndim`` dimensions,
        each no larger than ``self``'s (except along ``dim``); ``out`` has ``index``'s shape.
        Example: ``logits.gather(1, targets[:, None])`` is (N, 1), each row's target score.
        """
        xp = self.xp
        idx = index.data if isinstance(index, Tensor) else xp.asarray(index)
        dim = _check_dim(dim, self.ndim, "gather")
        if idx.dtype.kind not in "iu":
            raise TypeError(f"gather: index must hold integers, got dtype {idx.dtype}")
        if idx.ndim != self.ndim:
            raise ValueError(f"gather: index must have as many dimensions as the input ({self.ndim}), got shape {tuple(idx.shape)}")
        for d, (n_idx, n_in) in enumerate(zip(idx.shape, self.shape)):
            if d != dim and n_idx > n_in:
                raise ValueError(f"gather: index size {n_idx} exceeds the input's size {n_in} in dimension {d} "
                                 f"(index shape {tuple(idx.shape)}, input shape {self.shape})")
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= self.shape[dim]):
            raise IndexError(f"gather: index values must lie in [0, {self.shape[dim]}) along dimension {dim}, "
                             f"got values from {int(idx.min())} to {int(idx.max())}")
        grid = []
        for d, n in enumerate(idx.shape):  # an open grid: arange along d, size 1 elsewhere
            shape = [1] * idx.ndim
            shape[d] = n
            grid.append(idx if d == dim else xp.arange(n).reshape(shape))
        grid = tuple(grid)
        a_shape, dtype = self.shape, self.dtype

        def backward(g):
            full = xp.zeros(a_shape, dtype=dtype)
            _scatter_add(full, grid, g)
            return (full,)

        return Tensor._make(self.data[grid], (self,), backward, "gather")

    # ------------------------------------------------------------------ elementwise math
    def exp(self):
        out = self.xp.exp(self.data)
        return Tensor._make(out, (self,), lambda g: (g * out,), "exp")

    def log(self):
        a = self.data
        return Tensor._make(self.xp.log(a), (self,), lambda g: (g / a,), "log")

    def sqrt(self):
        out = self.xp.sqrt(self.data)
        return Tensor._make(out, (self,), lambda g: (g * 0.5 / out,), "sqrt")

    def abs(self):
        a = self.data
        return Tensor._make(self.xp.abs(a), (self,), lambda g: (g * self.xp.sign(a),), "abs")

    def tanh(self):
        out = self.xp.tanh(self.data)
        return Tensor._make(out, (self,), lambda g: (g * (1.0 - out * out),), "tanh")

    def sigmoid(self):
        out = stable_sigmoid(self.data)
        return Tensor._make(out, (self,), lambda g: (g * out * (1.0 - out),), "sigmoid")

    def relu(self):
        a = self.data
        mask = a > 0
        out = self.xp.maximum(a, a.dtype.type(0))  # NaN stays NaN; one vectorised pass, faster than a * mask
        return Tensor._make(out, (self,), lambda g: (g * mask,), "relu")

    def gelu(self):
        """GELU with the exact erf form (PyTorch's default): x * Phi(x), Phi the standard normal CDF."""
        out, slope = gelu_route(self.data)(self.data)

        @fresh_gradients
        def backward(g):
            return (g * slope,)

        return Tensor._make(out, (self,), backward, "gelu")

    def clip(self, low=None, high=None):
        a = self.data
        out = self.xp.clip(a, low, high)
        mask = (out == a)
        return Tensor._make(out, (self,), lambda g: (g * mask,), "clip")

    def softmax(self, axis: int = -1):
        """Softmax along ``axis``, shifted by the max so large logits do not overflow."""
        xp = self.xp
        a = self.data
        shifted = a - a.max(axis=axis, keepdims=True)
        e = xp.exp(shifted)
        out = e / e.sum(axis=axis, keepdims=True)

        def backward(g):
            return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)

        return Tensor._make(out, (self,), backward, "softmax")

    def log_softmax(self, axis: int = -1):
        """log(softmax(x)) computed as x - max - log(sum(exp(x - max)))."""
        xp = self.xp
        a = self.data
        shifted = a - a.max(axis=axis, keepdims=True)
        out = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))

        def backward(g):
            return (g - xp.exp(out) * g.sum(axis=axis, keepdims=True),)

        return Tensor._make(out, (self,), backward, "log_softmax")

    def masked_fill(self, mask, value: float):
        """Replace entries where ``mask`` is True by ``value`` (mask broadcasts to self)."""
        m = mask.data if isinstance(mask, Tensor) else self.xp.asarray(mask)
        if m.dtype != bool:
            raise TypeError(f"masked_fill needs a boolean mask, got dtype {m.dtype}")
        a = self.data
        out = self.xp.where(m, self.xp.asarray(value, dtype=a.dtype), a)
        return Tensor._make(out, (self,), lambda g: (unbroadcast(self.xp.where(m, 0, g), a.shape).astype(a.dtype, copy=False),), "masked_fill")


# ---------------------------------------------------------------------- helpers
def _normalize_axes(axis, ndim: int) -> tuple:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(sorted(a % ndim for a in axis))


def _unwrap_index(index):
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def _scatter_add(target, index, values) -> None:
    """``target[index] += values`` in place, adding repeated indices up (``np.add.at``)."""
    if get_array_module(target) is np:
        np.add.at(target, index, values)
    else:
        import cupyx

        cupyx.scatter_add(target, index, values)


def _check_dim(dim: int, ndim: int, name: str) -> int:
    if not -ndim <= dim < ndim:
        raise IndexError(f"{name}: dim {dim} is out of range for a tensor with {ndim} dimensions")
    return dim % ndim


def _is_advanced(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(not isinstance(i, (int, slice, type(None), type(Ellipsis))) for i in items)


def stable_sigmoid(x):
    """1 / (1 + exp(-x)) without overflow for large |x|."""
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def erf(x):
    """The error function on either backend."""
    if get_array_module(x) is np:
        from scipy.special import erf as _erf
    else:
        from cupyx.scipy.special import erf as _erf
    return _erf(x)


def gelu_erf(a):
    """GELU and its derivative, written as the formulas (the readable twin of ``gelu_poly``).

    Args:
        a: (*) float array (NumPy or CuPy).
    Returns:
        out = a * Phi(a) and slope = Phi(a) + a * phi(a), both (*) in a's dtype, where
        Phi(a) = (1 + erf(a / sqrt 2)) / 2 and phi(a) = exp(-a^2 / 2) / sqrt(2 pi).
    """
    cdf = 0.5 * (1.0 + erf(a / math.sqrt(2.0)))
    pdf = get_array_module(a).exp(-0.5 * a * a) / math.sqrt(2.0 * math.pi)
    return (a * cdf).astype(a.dtype, copy=False), (cdf + a * pdf).astype(a.dtype, copy=False)


# Abramowitz & Stegun 7.1.26: erfc(z) = t * (c1 + c2 t + ... + c5 t^4) * exp(-z^2) with t = 1 / (1 + p z),
# z >= 0, absolute error below 1.5e-7 (float32 rounds at 6e-8). SciPy's erf is a scalar loop, 50-100x
# slower than one vectorised ufunc pass; this is a handful of passes and shares exp(-z^2) with phi.
_AS_P = 0.3275911
_AS_C = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def gelu_poly(a):
    """``gelu_erf`` with Phi from a polynomial in t = 1 / (1 + p |a| / sqrt 2), in a few in-place buffers.

    Phi(a) = 1/2 + sign(a) (1/2 - erfc(|a| / sqrt 2) / 2), and erfc's ``exp(-a^2 / 2)`` is phi's
    too, so the forward and the derivative take about 25 cheap in-place passes and no erf.
    Phi is within 1.5e-7 of the exact value (float32 rounds at 6e-8), so outputs agree with
    ``gelu_erf`` to float32 rounding; the slope is the exact derivative's formula evaluated
    with that Phi. Two choices are only for speed: ``exp2`` (a vectorised loop; NumPy's float32
    ``exp`` is 3-4x slower) and the sign copied bitwise (``copysign`` is not vectorised).
    Args and returns as ``gelu_erf``.
    """
    xp = get_array_module(a)
    r, c5, horner, to_exp2, half, inv_sqrt_2pi, bits, sign_bit = _gelu_constants(a.dtype)
    t = xp.abs(a)
    t += r
    xp.divide(r, t, out=t)  # t = 1 / (1 + p z), z = |a| / sqrt 2
    cdf = t * c5  # Horner with every coefficient times -1/2
    for c in horner:
        cdf += c
        cdf *= t  # -erfc(z) / 2 / exp(-z^2)
    gauss = xp.multiply(a, a, out=t)  # t is free again
    gauss *= to_exp2
    xp.exp2(gauss, out=gauss)  # exp(-a^2 / 2) = exp(-z^2)
    cdf *= gauss  # -erfc(z) / 2
    cdf += half  # 1/2 - erfc(z) / 2, never negative
    out = xp.empty_like(a)
    xp.bitwise_and(a.view(bits), sign_bit, out=out.view(bits))  # a's sign bit alone
    xp.bitwise_or(cdf.view(bits), out.view(bits), out=cdf.view(bits))  # copysign(cdf, a)
    cdf += half  # Phi(a)
    xp.multiply(a, cdf, out=out)
    gauss *= a
    gauss *= inv_sqrt_2pi  # a * phi(a)
    gauss += cdf
    return out, gauss


@functools.lru_cache(maxsize=None)
def _gelu_constants(dtype):
    """``gelu_poly``'s scalars in ``dtype`` (made once: each conversion costs as much as a small pass)."""
    k = np.dtype(dtype).type
    bits = np.dtype(f"i{np.dtype(dtype).itemsize}")  # an integer type of the same width, to move the sign bit
    sign_bit = bits.type(-1 << (8 * np.dtype(dtype).itemsize - 1))  # only the top bit set
    return (k(math.sqrt(2.0) / _AS_P), k(-0.5 * _AS_C[4]), tuple(k(-0.5 * c) for c in _AS_C[3::-1]),
            k(-0.5 / math.log(2.0)), k(0.5), k(1.0 / math.sqrt(2.0 * math.pi)), bits, sign_bit)


def gelu_route(a):
    """The GELU kernel for ``a``: ``gelu_poly`` on the CPU for float32 (about 10x faster than SciPy's
    erf), ``gelu_erf`` otherwise (float64 keeps the exact erf; CuPy's erf is a fast GPU kernel)."""
    return gelu_poly if get_array_module(a) is np and a.dtype == np.float32 else gelu_erf


# ---------------------------------------------------------------------- module-level ops
def tensor(data, requires_grad: bool = False, dtype=None, device=None) -> Tensor:
    """Create a Tensor (float32 unless ``dtype`` says otherwise)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def as_tensor(x, dtype=None) -> Tensor:
    """``x`` itself if it is a Tensor, else a new constant Tensor."""
    return x if isinstance(x, Tensor) else Tensor(x, dtype=dtype)


def zeros(*shape, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A Tensor of zeros of ``shape`` (float32 unless ``dtype`` says otherwise) on ``device``."""
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Tensor(np.zeros(shape, dtype=dtype or DEFAULT_DTYPE), requires_grad, dtype=dtype, device=check_device(device))


def ones(*shape, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A Tensor of ones of ``shape`` (float32 unless ``dtype`` says otherwise) on ``device``."""
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Tensor(np.ones(shape, dtype=dtype or DEFAULT_DTYPE), requires_grad, dtype=dtype, device=check_device(device))


def gather(input, dim: int, index) -> Tensor:
    """Functional form of ``Tensor.gather`` (``torch.gather(input, dim, index)``)."""
    return as_tensor(input).gather(dim, index)


def one_hot(indices, num_classes: int = -1) -> Tensor:
    """Class indices (*) -> one-hot rows (*, num_classes), int64, as ``torch.nn.functional.one_hot``.

    ``num_classes=-1`` uses ``max(indices) + 1``. Multiply by a float tensor or call
    ``.astype(np.float32)`` for a float target. No gradient (indices are integers).
    """
    t = as_tensor(indices)
    if t.dtype.kind not in "iu":
        raise TypeError(f"one_hot: indices must be integers (class numbers), got dtype {t.dtype}")
    idx = t.data
    xp = t.xp
    if idx.size and int(idx.min()) < 0:
        raise ValueError(f"one_hot: class indices must be non-negative, got {int(idx.min())}")
    top = int(idx.max()) + 1 if idx.size else 0
    if num_classes == -1:
        num_classes = top
    elif top > num_classes:
        raise ValueError(f"one_hot: class index {top - 1} does not fit num_classes={num_classes}")
    out = (idx[..., None] == xp.arange(num_classes)).astype(np.int64)  # (*, C)
    return Tensor._make(out)


def where(condition, a, b) -> Tensor:
    """Elementwise ``a if condition else b``; gradients flow to the chosen side."""
    cond = condition.data if isinstance(condition, Tensor) else condition
    ref = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else Tensor(a)
    a, b = ref._lift(a), ref._lift(b)
    xp = ref.xp
    cond = xp.asarray(cond).astype(bool)

    def backward(g):
        return unbroadcast(xp.where(cond, g, 0), a.shape), unbroadcast(xp.where(cond, 0, g), b.shape)

    return Tensor._make(xp.where(cond, a.data, b.data), (a, b), backward, "where")


def concatenate(tensors, axis: int = 0) -> Tensor:
    """Join tensors along an existing ``axis`` (``torch.cat``)."""
    tensors = [as_tensor(t) for t in tensors]
    xp = tensors[0].xp
    sizes = [t.shape[axis] for t in tensors]
    bounds = np.cumsum([0] + sizes)

    def backward(g):
        return tuple(xp.take(g, xp.arange(int(lo), int(hi)), axis=axis) for lo, hi in zip(bounds[:-1], bounds[1:]))

    return Tensor._make(xp.concatenate([t.data for t in tensors], axis=axis), tensors, backward, "cat")


cat = concatenate


def stack(tensors, axis: int = 0) -> Tensor:
    """Join same-shape tensors along a new ``axis``."""
    tensors = [as_tensor(t) for t in tensors]
    xp = tensors[0].xp

    def backward(g):
        return tuple(xp.take(g, i, axis=axis) for i in range(len(tensors)))

    return Tensor._make(xp.stack([t.data for t in tensors], axis=axis), tensors, backward, "stack")


def _unary(name):
    def fn(x, *args, **kwargs):
        return getattr(as_tensor(x), name)(*args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"Functional form of ``Tensor.{name}``."
    return fn


exp = _unary("exp")
log = _unary("log")
sqrt = _unary("sqrt")
tanh = _unary("tanh")
sigmoid = _unary("sigmoid")
relu = _unary("relu")
gelu = _unary("gelu")
softmax = _unary("softmax")
log_softmax = _unary("log_softmax")
