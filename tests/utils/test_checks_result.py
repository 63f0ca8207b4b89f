"""The check framework: items, results, rendering, CheckFailed, student stubs, requires()."""
import numpy as np
import pytest

from utils.checks import (CheckFailed, CheckItem, CheckResult, ExerciseNotReady, check_close, check_shape,
                          check_true, requires, run_student, show_result)


class StubNet:
    """Stands in for a student's model whose forward is still a stub."""

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        # YOUR CODE HERE
        raise NotImplementedError()


def stub_attention(q, k, v):
    # YOUR CODE HERE
    raise NotImplementedError()


def test_passing_result_renders_and_returns(capsys):
    result = CheckResult("Exercise 1 (AlexNet)", [check_true("builds", True, "never shown"),
                                                   check_shape("output", np.zeros((2, 10)), (2, 10))])
    assert result.passed
    assert result.summary() == "Exercise 1 (AlexNet): all checks passed"
    assert show_result("Exercise 1 (AlexNet)", result) is None
    out = capsys.readouterr().out
    assert "all checks passed" in out and "[PASS] output" in out


def test_failing_result_raises_checkfailed_naming_exercise_and_checks(capsys):
    items = [check_true("softmax rows", False, "rows of the attention weights do not sum to 1"),
             check_shape("output", np.zeros((3, 4)), (3, 5)), check_true("ok", True, "")]
    with pytest.raises(CheckFailed) as info:
        show_result("Exercise 2 (attention)", CheckResult("ignored", items))
    message = str(info.value)
    assert isinstance(info.value, AssertionError)
    assert message.startswith("Exercise 2 (attention): 2 of 3 checks failed")
    assert "softmax rows: rows of the attention weights do not sum to 1" in message
    assert "output:" in message and "ok" not in message.split("\n", 1)[1]
    assert info.value._render_traceback_() == message.splitlines()
    assert "[FAIL] softmax rows" in capsys.readouterr().out


def test_empty_result_is_not_a_pass():
    assert not CheckResult("x").passed
    with pytest.raises(CheckFailed, match="no checks ran"):
        show_result("x", [])


def test_check_shape_messages():
    assert check_shape("s", np.zeros((2, 3)), (2, None)).passed
    swapped = check_shape("s", np.zeros((4, 3)), (3, 4))
    assert not swapped.passed and "wrong order" in swapped.message
    assert swapped.expected == (3, 4) and swapped.received == (4, 3)
    axes = check_shape("s", np.zeros((2, 3, 4)), (2, 3))
    assert "3 axes" in axes.message and "expected 2 axes" in axes.message
    assert not check_shape("s", 5.0, (1,)).passed


def test_check_close_reports_errors_index_and_tolerance():
    expected = np.linspace(-1, 1, 12).reshape(3, 4)
    assert check_close("v", expected + 1e-9, expected).passed
    received = expected.copy()
    received[1, 2] += 0.25
    item = check_close("v", received, expected, rtol=1e-5, atol=1e-6)
    assert not item.passed
    assert "max abs error 0.25" in item.message
    assert "max relative error" in item.message
    assert "index (1, 2)" in item.message
    assert f"expected {expected[1, 2]:.6g}" in item.message and f"received {received[1, 2]:.6g}" in item.message
    assert "atol=1e-06" in item.message and "rtol=1e-05" in item.message
    assert "differs" in check_close("v", np.zeros(3), np.zeros(4)).message
    assert "NaN" in check_close("v", np.array([np.nan, 1.0]), np.array([0.0, 1.0])).message
    assert "return" in check_close("v", None, np.zeros(2)).message
    near_zero = check_close("v", np.array([1.0, 0.5]), np.array([0.0, 1.0]))  # no 1e+307 from dividing by 0
    assert "max relative error 0.5 " in near_zero.message
    assert "relative" not in check_close("v", np.ones(2), np.zeros(2)).message
    assert "on axes 0, 1 (the right sizes in the wrong order" in check_shape("s", np.zeros((3, 2)), (2, 3)).message


def test_run_student_names_the_unfinished_stub():
    value, item = run_student("forward pass", StubNet(), np.zeros(3))
    assert value is None and not item.passed
    assert item.message == "not implemented yet: fill in the `YOUR CODE HERE` part of `StubNet.forward`"
    _, item = run_student("attention", stub_attention, 1, 2, 3)
    assert "`stub_attention`" in item.message and "YOUR CODE HERE" in item.message


def test_run_student_turns_other_errors_into_failed_items():
    def buggy(x):
        return x.reshape(7)

    value, item = run_student("reshape", buggy, np.zeros(3))
    assert value is None and not item.passed
    assert "ValueError" in item.message and "cannot reshape" in item.message and "buggy" in item.message
    def calls_numpy(x):
        return np.einsum("ij,jk->ik", x, x)

    _, item = run_student("einsum", calls_numpy, np.zeros((2, 3)))
    assert item.message.endswith("calls_numpy`)")  # the student's function, not NumPy's internals
    value, item = run_student("fine", lambda x: x + 1, 1)
    assert value == 2 and item is None


def test_text_and_html_rendering_escape_and_show_details():
    result = CheckResult("Ex <1>", [CheckItem("mask <polarity>", False, "True must mean 'may attend'",
                                              expected=np.ones(2), received=np.zeros(2)),
                                    CheckItem("shape", True)])
    text = result.to_text()
    assert repr(result) == str(result) == text
    assert text.splitlines()[0] == "Ex <1>: 1 of 2 checks passed"
    assert "[FAIL] mask <polarity>" in text and "[PASS] shape" in text
    assert "expected: [1., 1.]" in text and "received: [0., 0.]" in text
    html = result._repr_html_()
    assert html.count("<tr>") == 3  # header + two items
    assert "mask &lt;polarity&gt;" in html and "<polarity>" not in html
    assert "fail" in html and "pass" in html and "may attend" in html


def test_requires_turns_stub_into_short_error():
    with pytest.raises(ExerciseNotReady) as info:
        with requires("Exercise 3 (AlexNet)"):
            StubNet()(np.zeros(2))
    message = str(info.value)
    assert "Finish Exercise 3 (AlexNet) first" in message and "`StubNet.forward`" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert info.value._render_traceback_() == message.splitlines()
    with pytest.raises(ExerciseNotReady) as info:  # other errors name the exercise and keep their own words
        with requires("Exercise 3 (AlexNet)"):
            history  # noqa: F821 - an earlier cell never defined it
    assert "needs Exercise 3 (AlexNet)" in str(info.value) and "NameError: name 'history' is not defined" in str(info.value)
    with pytest.raises(KeyboardInterrupt):  # interrupting a cell is never disguised
        with requires("Exercise 3 (AlexNet)"):
            raise KeyboardInterrupt
    with pytest.raises(MemoryError):  # nor is running out of memory
        with requires("Exercise 3 (AlexNet)"):
            raise MemoryError
    with requires("Exercise 3 (AlexNet)"):
        pass


def test_requires_closes_the_figures_its_failed_cell_opened():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kept = plt.figure()  # opened by an earlier cell: not ours to close
    with pytest.raises(ExerciseNotReady) as info:
        with requires("Exercises 2-5 (the layers)"):
            plt.subplots(1, 2)
            plt.plot(history["loss"])  # noqa: F821
    assert plt.get_fignums() == [kept.number]  # no empty axes shown under the error
    assert "pass their checks" in str(info.value)
    with requires("Exercise 3 (AlexNet)"):  # a cell that succeeds keeps its figure
        shown = plt.figure()
    assert plt.get_fignums() == [kept.number, shown.number]
    plt.close("all")


def test_gradient_check_fails_cleanly_on_a_detached_output():
    from utils import Tensor
    from utils.checks.result import check_gradients_reach_parameters
    from utils.nn import Linear

    layer = Linear(3, 2)
    x = Tensor(np.ones((4, 3)))
    assert check_gradients_reach_parameters(layer, layer(x)).passed
    detached = Tensor(layer(x).numpy())  # what `Tensor(out.numpy())` inside forward does
    item = check_gradients_reach_parameters(layer, detached)
    assert not item.passed and "does not require grad" in item.message
    unused = Linear(3, 2)
    layer.extra = unused
    item = check_gradients_reach_parameters(layer, layer(x))
    assert not item.passed and "extra.weight" in item.message


def test_a_failed_check_stops_the_cells_that_need_its_exercise_until_it_passes():
    bad, good = [CheckItem("values", False, "wrong")], [CheckItem("values", True)]
    with pytest.raises(CheckFailed):  # outside a notebook it raises; in one it only renders
        show_result("Exercise 2: FeedForward", bad)
    show_result("Exercise 2: EncoderLayer", good)  # another check of the same exercise passing changes nothing
    with pytest.raises(ExerciseNotReady, match="Exercise 2: FeedForward fails its check; fix it first"):
        with requires("Exercises 2-5 (the layers, Transformer and masked_cross_entropy)"):
            raise AssertionError("the body must not run")
    with requires("Exercise 3 (DecoderLayer)"):
        pass  # other exercises are not blocked
    show_result("Exercise 2: FeedForward", good)
    with requires("Exercise 2 (FeedForward)"):
        pass


def test_in_a_kernel_a_failed_check_renders_once_and_does_not_raise(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in (
        "from utils.checks import CheckItem, requires, show_result",
        "show_result('Exercise 1: f', [CheckItem('values', False, 'wrong values: softmax over the wrong axis?')])",
        "with requires('Exercise 1 (f)'):\n    print('trained')",
        "print('Run All went on')",
    )])
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    check, needs, last = nb.cells[1], nb.cells[2], nb.cells[3]
    assert [o["output_type"] for o in check.outputs] == ["display_data"]
    verdict = check.outputs[0]["metadata"]["utils_check"]
    assert verdict == {"title": "Exercise 1: f", "passed": False, "failures": ["values: wrong values: softmax over the wrong axis?"]}
    data = check.outputs[0]["data"]
    assert sorted(data) == ["text/html", "text/plain"]  # one table (and its plain-text twin), no error repeating it
    assert all(body.count("softmax over the wrong axis") == 1 for body in data.values())
    assert needs.outputs[0]["ename"] == "ExerciseNotReady" and "Exercise 1: f fails its check" in needs.outputs[0]["evalue"]
    assert last.outputs[0]["text"] == "Run All went on\n"


def test_check_gradients_reach_inputs_names_the_input_cut_off():
    from utils import Tensor
    from utils.checks.result import check_gradients_reach_inputs

    a, b = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    before = a.copy()
    assert check_gradients_reach_inputs(lambda x, y: (x * y).softmax(-1), {"a": a, "b": b}).passed  # constant plain sum
    np.testing.assert_array_equal(a, before)  # the caller's array is left as it was
    detached = check_gradients_reach_inputs(lambda x, y: Tensor(x.numpy()) * y, {"a": a, "b": b})
    assert not detached.passed and detached.message.startswith("no gradient reaches a:")
    assert "computed outside Tensor operations" in detached.message
    cut = check_gradients_reach_inputs(lambda x, y: Tensor((x * y).numpy()), {"a": a, "b": b})
    assert not cut.passed and "does not require grad" in cut.message
    crash = check_gradients_reach_inputs(lambda x, y: 1 / 0, {"a": a, "b": b})
    assert not crash.passed and "ZeroDivisionError" in crash.message


def test_running_out_of_memory_is_never_a_failed_item():
    from utils.checks import run_student

    def hog():
        raise MemoryError("Unable to allocate 2.00 TiB")

    with pytest.raises(MemoryError):
        run_student("forward", hog)
