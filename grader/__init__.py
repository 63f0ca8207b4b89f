"""grader: the instructor side — nbgrader plus hidden checks judged outside student code.

Entry point: ``python -m grader`` (see ``grader.cli``). Hidden checks live in
``grader/checks/<week>/`` and never leave this package.
"""
