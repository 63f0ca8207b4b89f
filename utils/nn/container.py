"""Containers: ``Sequential`` (run children in order) and ``ModuleList`` (hold children).

Children are registered under the names ``"0"``, ``"1"``, ... (or the keys of an
``OrderedDict``), so parameter names read ``"0.weight"``, ``"3.running_mean"`` as in PyTorch.
"""
from __future__ import annotations

from collections import OrderedDict

from .module import Module


def _check_module(value, owner: str, name: str) -> Module:
    if not isinstance(value, Module):
        raise TypeError(f"{owner}: entry {name!r} must be a Module, got {type(value).__name__}")
    return value


class _IndexedModules(Module):
    """Shared integer indexing, ``len`` and iteration over registered children."""

    def _index(self, idx: int) -> str:
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError(f"{type(self).__name__}: index {idx} is out of range for {n} modules")
        return list(self._modules)[idx % n]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class Sequential(_IndexedModules):
    """Apply modules one after another: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Args:
        *modules: the layers in order, or a single ``OrderedDict`` mapping names to layers.
    Shapes: whatever the first layer accepts in, whatever the last layer gives out.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(str(name), _check_module(module, "Sequential", name))
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), _check_module(module, "Sequential", str(i)))

    def __getitem__(self, idx):
        """``seq[i]`` is the i-th layer; ``seq[a:b]`` is a new Sequential sharing those layers."""
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return self._modules[self._index(idx)]

    def append(self, module: Module) -> "Sequential":
        """Add ``module`` at the end, under the next free integer name."""
        self.add_module(str(len(self)), _check_module(module, "Sequential", str(len(self))))
        return self

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x


class ModuleList(_IndexedModules):
    """A list of modules whose parameters are registered (names ``"0"``, ``"1"``, ...).

    It has no ``forward``: the owner decides how to call its entries.

    Args:
        modules: an iterable of modules (optional).
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[self._index(idx)]

    def __setitem__(self, idx: int, module: Module) -> None:
        self._modules[self._index(idx)] = _check_module(module, "ModuleList", str(idx))

    def append(self, module: Module) -> "ModuleList":
        self.add_module(str(len(self)), _check_module(module, "ModuleList", str(len(self))))
        return self

    def extend(self, modules) -> "ModuleList":
        for module in modules:
            self.append(module)
        return self
