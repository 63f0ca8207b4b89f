"""utils: the course's teaching library, a small deep-learning framework on NumPy or CuPy.

Names, argument order, weight layouts and defaults follow PyTorch, so what you learn
here carries over. Attention masks are boolean with True = may attend, everywhere.

Where a new Tensor lives, and its dtype (one rule each, for ``Tensor(...)``,
``tensor(...)``, ``Parameter(...)``, layers' weights and ``DataLoader`` batches alike):

* **Device**: ``device=`` when given; else data already on a device keeps it (a Tensor,
  a CuPy array); else (lists, scalars, NumPy arrays) the default device, which is
  ``set_default_device(...)``'s choice, else ``$UTILS_DEVICE`` (``cpu``, ``cuda``, or
  ``auto``: the GPU when CuPy can reach one). As ``torch.set_default_device``.
* **Dtype**: ``dtype=`` when given; else a Tensor keeps its own; else floating data
  becomes float32, integers int64, booleans stay bool. (A float64 NumPy array becomes
  float32 too; ask for float64 with ``dtype=np.float64`` or ``module.double()``.)

Layers live in ``utils.nn`` (``utils.nn.Linear``, ``utils.nn.init.kaiming_normal_``, ...);
the most used ones are also importable from ``utils`` itself, as are the visible checks
of ``utils.checks`` that the course's first notebook imported (``test_lstm_forward``, ...).
"""
__version__ = "0.1.0"

from .backend import (asnumpy, cupy_available, default_device, get_array_module, get_default_device,
                      set_default_device, to_device)
from .tensor import (Tensor, as_tensor, cat, concatenate, enable_grad, exp, gather, gelu, is_grad_enabled, log,
                     log_softmax, no_grad, one_hot, ones, relu, sigmoid, softmax, sqrt, stack, tanh, tensor, where, zeros)
from .gradcheck import gradcheck
from .losses import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, binary_cross_entropy,
                     binary_cross_entropy_with_logits, cross_entropy, mse_loss)
from .metrics import accuracy, mse
from .optim import SGD, Adam, CosineAnnealingLR, StepLR, clip_grad_norm_
from .serialization import load, load_model, save, save_model
from .data import (DataLoader, generate_image_data, generate_sequence_classification_data, generate_time_series_data,
                   load_digits, train_test_split)
from .training import History, evaluate, fit, predict
from . import checks, nn, plots

# Names re-exported for the course's first notebook, resolved on each access from their home
# module (so ``utils.LSTM is utils.nn.LSTM`` always holds, even if that module's name is
# replaced later) and, for the visible checks, imported on first use.
_REEXPORTS = {name: "nn" for name in (
    "BatchNorm2d Conv2d Dropout Embedding Flatten GRU GRUCell LSTM LSTMCell LayerNorm Linear MaxPool2d Module "
    "MultiHeadAttention Parameter PositionalEncoding RNN RNNCell ReLU Sequential scaled_dot_product_attention").split()}
_REEXPORTS.update({
    "show_result": "checks",
    "test_alexnet_architecture": "checks.week1_alexnet",
    "test_resnet_skip_connection": "checks.week2_resnet",
    "test_lstm_forward": "checks.week3_lstm",
    "test_transformer_attention": "checks.week4_attention",
    "test_vit_patch_embedding": "checks.week6_vit",
})


def __getattr__(name):
    if name in _REEXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_REEXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'utils' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_REEXPORTS))
