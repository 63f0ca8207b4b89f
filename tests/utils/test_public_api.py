"""Every name the course promises exists where students look for it, and says what it does."""
import inspect

import pytest

import utils
import utils.nn as nn

TOP_LEVEL = """get_array_module to_device asnumpy default_device Tensor no_grad tensor zeros ones where concatenate stack
exp log sqrt tanh sigmoid relu gelu softmax log_softmax MSELoss CrossEntropyLoss BCELoss BCEWithLogitsLoss accuracy mse
SGD Adam StepLR CosineAnnealingLR save load generate_image_data generate_time_series_data
generate_sequence_classification_data train_test_split load_digits DataLoader fit evaluate predict History gradcheck""".split()
LAYERS = """Module Parameter Sequential Linear Conv2d MaxPool2d AvgPool2d AdaptiveAvgPool2d Flatten BatchNorm1d BatchNorm2d
LayerNorm Dropout ReLU GELU Tanh Sigmoid LeakyReLU ELU Softmax Embedding PositionalEncoding scaled_dot_product_attention
MultiHeadAttention LSTMCell LSTM TransformerEncoderLayer""".split()
TENSOR_METHODS = """backward detach item numpy sum mean max var reshape transpose permute __getitem__ exp log sqrt tanh
sigmoid relu gelu softmax log_softmax masked_fill __matmul__ to astype""".split()
PLOTS = "plot_history plot_attention plot_attention_heads plot_mask plot_image_grid plot_conv_filters plot_confusion_matrix".split()


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_top_level_names_exist_and_are_documented(name):
    obj = getattr(utils, name)
    assert inspect.getdoc(obj), f"utils.{name} has no docstring"


@pytest.mark.parametrize("name", LAYERS)
def test_layers_exist_and_are_documented(name):
    obj = getattr(nn, name)
    assert inspect.getdoc(obj), f"utils.nn.{name} has no docstring"


@pytest.mark.parametrize("name", TENSOR_METHODS)
def test_tensor_methods(name):
    assert callable(getattr(utils.Tensor, name))


def test_version_plots_and_checks():
    assert utils.__version__.count(".") == 2
    for name in PLOTS:
        assert callable(getattr(utils.plots, name))
    assert callable(utils.checks.show_result) and utils.checks.CheckResult
