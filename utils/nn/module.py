"""``Module`` and ``Parameter``: the base of every layer, with PyTorch's conventions.

Assigning a ``Parameter`` or a ``Module`` to an attribute registers it, in insertion
order, so ``named_parameters()`` yields dotted names such as ``"0.weight"`` or
``"encoder.norm1.bias"`` and ``state_dict()`` keys line up with PyTorch's.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..backend import asnumpy, check_device, get_array_module, to_device
from ..tensor import DEFAULT_DTYPE, Tensor


class Parameter(Tensor):
    """A Tensor that a Module registers as learnable (``requires_grad=True``).

    Placed and typed exactly as ``Tensor(data)`` (see ``utils.tensor``): a Tensor keeps
    its dtype and device; a NumPy array or list becomes float32 on the default device
    unless ``dtype``/``device`` say otherwise.
    """

    def __init__(self, data, requires_grad: bool = True, dtype=None, device=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, device=device)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class for layers and models.

    Subclasses call ``super().__init__()`` first, assign parameters and sub-modules
    as attributes, and implement ``forward``. Calling the module runs ``forward``.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"call super().__init__() in {type(self).__name__}.__init__ before assigning attributes")
        if isinstance(value, (Parameter, Module)):
            self._parameters.pop(name, None)
            self._buffers.pop(name, None)
            self._modules.pop(name, None)
            self.__dict__.pop(name, None)
            (self._parameters if isinstance(value, Parameter) else self._modules)[name] = value
        elif name in self._buffers:
            self._buffers[name] = value if value is None or isinstance(value, Tensor) else Tensor(value, dtype=getattr(value, "dtype", None))
        elif name in self._parameters or name in self._modules:
            if value is not None:
                kind = "Parameter" if name in self._parameters else "Module"
                raise TypeError(f"cannot assign {type(value).__name__} to '{name}', which holds a {kind}")
            (self._parameters if name in self._parameters else self._modules)[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        for store in ("_parameters", "_buffers", "_modules"):
            values = self.__dict__.get(store)
            if values is not None and name in values:
                return values[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, value) -> None:
        """Register state that is saved in ``state_dict`` but not trained (e.g. running means)."""
        if value is not None and not isinstance(value, Tensor):
            value = Tensor(value, dtype=getattr(value, "dtype", None))
        self.__dict__.pop(name, None)
        self._buffers[name] = value

    def register_parameter(self, name: str, value) -> None:
        setattr(self, name, value if value is None or isinstance(value, Parameter) else Parameter(value))

    def add_module(self, name: str, module: "Module") -> None:
        self._modules[name] = module

    # ------------------------------------------------------------------ forward
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def _input(self, x) -> Tensor:
        """Wrap a plain array as a Tensor of this module's float dtype and device."""
        if isinstance(x, Tensor):
            return x
        arr = x if hasattr(x, "dtype") else np.asarray(x)
        if np.dtype(arr.dtype).kind == "f":
            return Tensor(arr, dtype=self.dtype, device=self.device)
        return Tensor(arr, device=self.device)

    # ------------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = ""):
        """Yield ``(dotted_name, module)`` for this module and every descendant."""
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def named_parameters(self, prefix: str = ""):
        """Yield ``(dotted_name, Parameter)`` in registration order, each parameter once."""
        seen = set()
        for mod_name, module in self.named_modules(prefix):
            for name, p in module._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self):
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self, prefix: str = ""):
        for mod_name, module in self.named_modules(prefix):
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{mod_name}.{name}" if mod_name else name), b

    def buffers(self):
        for _, b in self.named_buffers():
            yield b

    def apply(self, fn) -> "Module":
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode: bool = True) -> "Module":
        """Training mode (dropout active, batch norm uses batch statistics)."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        """Evaluation mode: dropout is the identity, batch norm uses running statistics."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Set ``.grad`` of every parameter that ``parameters()`` yields to None."""
        for p in self.parameters():
            p.grad = None

    def requires_grad_(self, flag: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad = flag
        return self

    # ------------------------------------------------------------------ state
    def state_dict(self) -> "OrderedDict[str, object]":
        """Parameters and buffers by dotted name, as copies of their arrays."""
        state, seen = OrderedDict(), set()
        for mod_name, module in self.named_modules():  # PyTorch's order: each module's parameters, then its buffers
            for name, t in list(module._parameters.items()) + list(module._buffers.items()):
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                state[f"{mod_name}.{name}" if mod_name else name] = t.data.copy()
        return state

    def load_state_dict(self, state_dict, strict: bool = True) -> None:
        """Copy arrays into parameters and buffers (in place, casting to each one's dtype), checking names and shapes.

        Raises ``KeyError`` naming missing and unexpected keys (when ``strict``) and
        ``ValueError`` naming the key and both shapes when a shape differs.
        """
        targets = OrderedDict(self.named_parameters())
        targets.update(self.named_buffers())
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict for {type(self).__name__}: missing keys {missing}, unexpected keys {unexpected}")
        for name, value in state_dict.items():
            if name not in targets:
                continue
            target = targets[name]
            value = value.data if isinstance(value, Tensor) else value
            if tuple(value.shape) != target.shape:
                raise ValueError(f"load_state_dict: '{name}' has shape {tuple(value.shape)} in the state dict but {target.shape} in the model")
            arr = to_device(value, target.device)
            if getattr(target.data, "flags", None) is not None and target.data.flags.writeable:
                target.data[...] = arr  # in place, as PyTorch's copy_: no second copy of a large weight at any moment
            else:
                target.data = get_array_module(arr).asarray(arr, dtype=target.dtype).copy()

    # ------------------------------------------------------------------ device and dtype
    @property
    def dtype(self):
        """The dtype of the first floating parameter (float32 for a module without any)."""
        for p in self.parameters():
            if p.dtype.kind == "f":
                return p.dtype
        return np.dtype(DEFAULT_DTYPE)

    @property
    def device(self) -> str:
        for p in self.parameters():
            return p.device
        for b in self.buffers():
            return b.device
        return "cpu"

    def to(self, device=None, dtype=None) -> "Module":
        """Move every parameter and buffer to ``device`` and/or cast floats to ``dtype``, in place."""
        device = check_device(device) if device is not None else None
        for t in list(self.parameters()) + list(self.buffers()):
            data = t.data
            if device is not None and t.device != device:
                data = to_device(data, device)
            if dtype is not None and data.dtype.kind == "f":
                data = data.astype(dtype)
            t.data = data
            if t.grad is not None:
                t.grad = None
        return self

    def float(self) -> "Module":
        return self.to(dtype=np.float32)

    def double(self) -> "Module":
        return self.to(dtype=np.float64)

    def cpu(self) -> "Module":
        return self.to("cpu")

    def cuda(self) -> "Module":
        return self.to("cuda")

    # ------------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


def count_parameters(module: Module, trainable_only: bool = True) -> int:
    """The number of scalar parameters in ``module``."""
    return sum(p.size for p in module.parameters() if p.requires_grad or not trainable_only)


def numpy_state_dict(module: Module) -> "OrderedDict[str, np.ndarray]":
    """``module.state_dict()`` with every array on the host."""
    return OrderedDict((k, asnumpy(v)) for k, v in module.state_dict().items())
