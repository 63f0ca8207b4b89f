"""``Case``: one computation the benchmark times, built once in ``utils`` and once in PyTorch."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Case:
    name: str
    arrays: Callable[[float], dict]
    utils_side: Callable[[dict], tuple]
    torch_side: Callable[[dict], tuple]
    # How a test compares the two sides' results: "all" elements close (gradients), "most" (weights after
    # Adam steps: a weight whose gradient is near zero moves by +-lr either way, so a few elements differ),
    # "shapes" (dropout draws different masks in the two libraries).
    compare: str = "all"
