"""Layers with PyTorch's names, argument order, weight layouts and defaults.

Initialisers with PyTorch's names are in ``utils.nn.init`` (``kaiming_normal_``, ``xavier_uniform_``, ...).
``utils.nn.embedding`` is the module of ``Embedding`` (its lookup function is ``utils.nn.embedding.embedding``),
so ``import utils.nn.embedding as m`` and ``monkeypatch.setattr("utils.nn.embedding.scatter_rows", ...)`` reach it.
"""
from . import init
from .module import Module, Parameter, count_parameters
from .container import ModuleList, Sequential
from .linear import Flatten, Identity, Linear, linear
from .dropout import Dropout, dropout
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm, batch_norm, layer_norm, layer_norm_reference
from .activation import ELU, GELU, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh, elu, leaky_relu
from .embedding import Embedding, PositionalEncoding  # the lookup function is utils.nn.embedding.embedding
from .attention import MultiHeadAttention, masked_softmax, scaled_dot_product_attention
from .recurrent import LSTM, LSTMCell
from .rnn import RNN, RNNCell
from .gru import GRU, GRUCell
from .transformer import TransformerEncoderLayer
from .conv import Conv2d, conv2d
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d, adaptive_avg_pool2d, avg_pool2d, max_pool2d
