"""Student-visible checks: each returns a ``CheckResult`` that ``show_result`` renders.

Week modules (added by the week authors) build their checks from the helpers here.
"""
from .result import (
    CheckFailed,
    CheckItem,
    CheckResult,
    ExerciseNotReady,
    check_close,
    check_shape,
    check_true,
    not_implemented_message,
    requires,
    run_student,
    show_result,
)
