"""Grading one submission, stage by stage, in the order a submission meets them.

1. ``precheck``       the notebook exists under its name, is valid JSON and a valid notebook, and
                      its nbgrader metadata matches the source (no tampered flags or points)
2. ``autograde``      nbgrader's autograde: cells restored from the gradebook, gradebook rows
                      made, the notebook rendered in the jail for its outputs (``render`` redoes
                      this later for submissions graded with ``--no-render``)
3. ``answers``        the code the hidden checks run: the answer cells, found robustly
   ``hidden_checks``  the week's hidden checks on that code, in jails; scores per cell
4. ``submission``     scores into the gradebook, the late policy, ``annotate`` the results into
                      the autograded notebook, and the outcome (``status``) with its warnings
``batch`` grades a class (threads or a Dask cluster); ``stage_server`` keeps one helper
process per worker for stages 2-3, so nbgrader, pytest and the checks load once per batch.
"""
