"""nbgrader settings for plain ``nbgrader`` commands run from the repository root.

The settings themselves live in ``grader/nbgrader_setup/config.py`` so that ``python -m grader`` and
plain ``nbgrader`` always agree: source directory ``solutions``, release directory
``course``, student code executed only inside the grader's sandbox.
"""
from grader.nbgrader_setup.config import apply_course_config

apply_course_config(get_config())  # noqa: F821 - nbgrader provides get_config()
