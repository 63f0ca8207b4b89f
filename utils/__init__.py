"""utils: the course's teaching library, a small deep-learning framework on NumPy or CuPy.

Names, argument order, weight layouts and defaults follow PyTorch, so what you learn
here carries over. Attention masks are boolean with True = may attend, everywhere.
"""
__version__ = "0.1.0"

from .backend import asnumpy, cupy_available, default_device, get_array_module, to_device
from .tensor import Tensor, as_tensor, cat, concatenate, enable_grad, is_grad_enabled, no_grad, ones, stack, tensor, where, zeros
from .gradcheck import gradcheck
