"""Every name the course promises exists where students look for it, and says what it does."""
import inspect

import pytest

import utils
import utils.nn as nn

TOP_LEVEL = """get_array_module to_device asnumpy default_device Tensor no_grad tensor zeros ones where concatenate stack
exp log sqrt tanh sigmoid relu gelu softmax log_softmax MSELoss CrossEntropyLoss BCELoss BCEWithLogitsLoss accuracy mse
SGD Adam StepLR CosineAnnealingLR save load generate_image_data generate_time_series_data
generate_sequence_classification_data train_test_split load_digits DataLoader fit evaluate predict History gradcheck
set_default_device get_default_device one_hot gather show_result Conv2d MaxPool2d ReLU Dropout Linear BatchNorm2d LSTM
LSTMCell GRU GRUCell RNN RNNCell MultiHeadAttention PositionalEncoding scaled_dot_product_attention test_alexnet_architecture
test_resnet_skip_connection test_lstm_forward test_transformer_attention test_vit_patch_embedding""".split()
LAYERS = """Module Parameter Sequential Linear Conv2d MaxPool2d AvgPool2d AdaptiveAvgPool2d Flatten BatchNorm1d BatchNorm2d
LayerNorm Dropout ReLU GELU Tanh Sigmoid LeakyReLU ELU Softmax Embedding PositionalEncoding scaled_dot_product_attention
MultiHeadAttention LSTMCell LSTM GRUCell GRU RNNCell RNN TransformerEncoderLayer""".split()
INIT = """uniform_ normal_ constant_ zeros_ ones_ xavier_uniform_ xavier_normal_ kaiming_uniform_ kaiming_normal_ orthogonal_
calculate_gain""".split()
TENSOR_METHODS = """backward detach item numpy sum mean max var reshape transpose permute __getitem__ exp log sqrt tanh
sigmoid relu gelu softmax log_softmax masked_fill __matmul__ to astype gather""".split()
PLOTS = "plot_history plot_attention plot_attention_heads plot_mask plot_image_grid plot_conv_filters plot_confusion_matrix".split()


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_top_level_names_exist_and_are_documented(name):
    obj = getattr(utils, name)
    assert inspect.getdoc(obj), f"utils.{name} has no docstring"


@pytest.mark.parametrize("name", LAYERS)
def test_layers_exist_and_are_documented(name):
    obj = getattr(nn, name)
    assert inspect.getdoc(obj), f"utils.nn.{name} has no docstring"


@pytest.mark.parametrize("name", INIT)
def test_initialisers_exist_and_are_documented(name):
    assert inspect.getdoc(getattr(nn.init, name)), f"utils.nn.init.{name} has no docstring"


def test_top_level_layers_are_the_ones_in_utils_nn():
    for name in "Linear Conv2d LSTM GRU RNN MultiHeadAttention scaled_dot_product_attention".split():
        assert getattr(utils, name) is getattr(nn, name), name  # utils.nn stays the home of layers


def test_top_level_layers_follow_their_home_module(monkeypatch):
    """A replaced ``utils.nn`` name (e.g. a "write this yourself" stub) is what ``utils`` hands out too."""
    sentinel = object()
    monkeypatch.setattr(nn, "LSTMCell", sentinel)
    assert utils.LSTMCell is sentinel


def test_library_docstring_states_the_device_and_dtype_rules():
    doc = inspect.getdoc(utils)
    assert "Device" in doc and "default device" in doc and "Dtype" in doc and "float32" in doc
    with pytest.raises(AttributeError, match="no attribute 'test_nothing'"):
        utils.test_nothing  # noqa: B018


@pytest.mark.parametrize("name", TENSOR_METHODS)
def test_tensor_methods(name):
    assert callable(getattr(utils.Tensor, name))


def test_version_plots_and_checks():
    assert utils.__version__.count(".") == 2
    for name in PLOTS:
        assert callable(getattr(utils.plots, name))
    assert callable(utils.checks.show_result) and utils.checks.CheckResult
