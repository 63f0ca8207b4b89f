"""Each plot returns a Figure with the expected panels, on small inputs."""
import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from utils import plots
from utils.tensor import Tensor
from utils.training import History


def images_in(fig):
    return sum(len(ax.images) for ax in fig.axes)


def test_plot_history_from_history_and_dict():
    h = History(train_loss=[1.0, 0.5], train_metric=[0.5, 0.8], val_loss=[1.1, 0.7], val_metric=[0.4, 0.7],
                lr=[0.1, 0.1], seconds=[1.0, 1.0], metric_name="accuracy")
    fig = plots.plot_history(h)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert all(len(ax.lines) == 2 for ax in fig.axes)
    assert fig.axes[1].get_ylabel() == "accuracy"
    assert isinstance(h.plot(), Figure)
    only_loss = plots.plot_history({"train_loss": [1.0, 0.5], "val_loss": [None, None]})
    assert len(only_loss.axes) == 1
    no_metric = History(train_loss=[1.0, 0.5], train_metric=[None, None], val_loss=[1.1, 0.7], val_metric=[None, None],
                        lr=[0.1, 0.1], seconds=[1.0, 1.0], metric_name="metric")  # what fit(metric=None) records
    assert len(plots.plot_history(no_metric).axes) == 1  # no empty metric panel


def test_plot_attention_with_labels_and_colorbar():
    w = Tensor(np.full((3, 4), 0.25))
    fig = plots.plot_attention(w, x_labels=list("abcd"), y_labels=list("xyz"), title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 2  # heatmap + colorbar
    assert images_in(fig) == 1
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == list("abcd")
    with pytest.raises(ValueError, match="x_labels"):
        plots.plot_attention(w, x_labels=list("ab"))


def test_plot_attention_into_given_axes():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    assert plots.plot_attention(np.eye(3), ax=ax) is fig
    plt.close(fig)


def test_plot_attention_heads_grid():
    fig = plots.plot_attention_heads(np.random.default_rng(0).random((5, 3, 4)), ncols=4)
    assert images_in(fig) == 5 and len(fig.axes) == 6  # five heads + one shared colorbar


def test_plot_mask_legend_states_convention():
    fig = plots.plot_mask(np.tril(np.ones((4, 4), dtype=bool)))
    legend = fig.axes[0].get_legend()
    assert any("True: may attend" in t.get_text() for t in legend.get_texts())
    assert images_in(fig) == 1


def test_plot_image_grid_highlights_wrong_predictions():
    images = np.random.default_rng(0).random((10, 1, 8, 8))
    labels = np.arange(10) % 3
    preds = labels.copy()
    preds[[2, 7]] = (preds[[2, 7]] + 1) % 3
    fig = plots.plot_image_grid(images, labels, preds, ncols=4)
    assert isinstance(fig, Figure) and len(fig.axes) == 10 and images_in(fig) == 10
    red = [i for i, ax in enumerate(fig.axes) if ax.title.get_color() == "red"]
    assert red == [2, 7]
    assert images_in(plots.plot_image_grid(images[:, 0])) == 10  # (N, H, W)
    assert images_in(plots.plot_image_grid(np.random.default_rng(1).random((3, 3, 8, 8)))) == 3
    with pytest.raises(ValueError, match="channels"):
        plots.plot_image_grid(np.zeros((2, 2, 8, 8)))


def test_plot_conv_filters_and_feature_maps():
    fig = plots.plot_conv_filters(np.random.default_rng(0).standard_normal((6, 1, 3, 3)), ncols=4)
    assert len(fig.axes) == 6 and images_in(fig) == 6
    assert images_in(plots.plot_conv_filters(np.zeros((4, 3, 5, 5)))) == 4
    fig = plots.plot_feature_maps(np.random.default_rng(0).random((5, 6, 6)))
    assert len(fig.axes) == 5 and images_in(fig) == 5


def test_plot_confusion_matrix_counts():
    fig = plots.plot_confusion_matrix([0, 1, 2, 2], [0, 2, 2, 2], class_names=["a", "b", "c"])
    assert len(fig.axes) == 2 and images_in(fig) == 1
    counts = fig.axes[0].images[0].get_array()
    np.testing.assert_array_equal(counts, [[1, 0, 0], [0, 0, 1], [0, 0, 2]])
    assert "75.0%" in fig.axes[0].get_title()


def test_plot_series_with_split_and_predictions():
    series = np.sin(np.linspace(0, 10, 100))
    fig = plots.plot_series(series, split=80, predictions=series[80:] + 0.1)
    ax = fig.axes[0]
    assert len(fig.axes) == 1
    lines = [line for line in ax.lines if line.get_label() in ("series", "prediction")]
    assert len(lines) == 2
    np.testing.assert_array_equal(lines[1].get_xdata(), np.arange(80, 100))
    fig = plots.plot_series(np.zeros((50, 2)), predictions=np.zeros((10, 2)))
    assert len([line for line in fig.axes[0].lines if line.get_xdata()[0] == 40]) == 2
