"""The notebook the course grew from ("Week 8 - Deep Learning Architectures") runs against ``utils``.

Its first cell is held here verbatim and run in a fresh interpreter, as a notebook kernel
would, followed by the seed's data calls with their exact keywords.
"""
import subprocess
import sys
import textwrap

SEED_FIRST_CELL = """\
from utils import (show_result, generate_image_data, generate_time_series_data,
    generate_sequence_classification_data, train_test_split, Conv2d, MaxPool2d, ReLU, Dropout,
    Linear, BatchNorm2d, LSTM, LSTMCell, MultiHeadAttention, PositionalEncoding,
    scaled_dot_product_attention, softmax, accuracy, mse, test_alexnet_architecture,
    test_resnet_skip_connection, test_lstm_forward, test_transformer_attention, test_vit_patch_embedding)
"""

SEED_DATA_CALLS = """
X_img, y_img = generate_image_data(n_samples=100, img_size=28, n_channels=1, n_classes=10)
X_seq, y_seq = generate_time_series_data(n_samples=200, seq_len=50, n_features=1)
import utils.nn
assert Linear is utils.nn.Linear and LSTM is utils.nn.LSTM and MultiHeadAttention is utils.nn.MultiHeadAttention
print(X_img.shape, y_img.shape, sorted(set(y_img.tolist())) == list(range(10)), X_seq.shape, y_seq.shape)
"""


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_seed_first_cell_runs_unchanged_in_a_fresh_interpreter():
    done = _run(SEED_FIRST_CELL + SEED_DATA_CALLS)
    assert done.returncode == 0, f"the seed notebook's first cell failed:\n{done.stderr[-3000:]}"
    assert done.stdout.split() == "(100, 1, 28, 28) (100,) True (200, 50, 1) (200, 1)".split()


def test_the_cell_is_held_verbatim():
    """Guard against 'fixing' the test instead of the library: the cell is the seed's text."""
    names = SEED_FIRST_CELL.split("(", 1)[1].rsplit(")", 1)[0].replace("\n", " ").split(",")
    assert len([n.strip() for n in names]) == 24
    assert SEED_FIRST_CELL.startswith("from utils import (show_result, generate_image_data, generate_time_series_data,\n")
    assert textwrap.dedent(SEED_FIRST_CELL) == SEED_FIRST_CELL
