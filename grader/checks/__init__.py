"""Hidden checks, one folder per week, run by ``grader.pipeline.hidden_checks`` through ``grader.checks.harness``.

Never copied into ``course/``, the student bundle or feedback; the jail hides this
folder from student code while it runs.
"""
