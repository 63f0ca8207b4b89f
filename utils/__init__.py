"""utils: the course's teaching library, a small deep-learning framework on NumPy or CuPy.

Names, argument order, weight layouts and defaults follow PyTorch, so what you learn
here carries over. Attention masks are boolean with True = may attend, everywhere.
"""
__version__ = "0.1.0"

from .backend import asnumpy, cupy_available, default_device, get_array_module, to_device
from .tensor import (Tensor, as_tensor, cat, concatenate, enable_grad, exp, gelu, is_grad_enabled, log, log_softmax, no_grad,
                     ones, relu, sigmoid, softmax, sqrt, stack, tanh, tensor, where, zeros)
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
