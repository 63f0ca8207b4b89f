"""nbgrader, configured for this course: its settings (``config``), the steps the grader
replaces (``preprocessors``: rendering in the jail, restoring deleted cells), safe writes to
its gradebook (``gradebook``) and what each cell is for (``cells``). ``docs/nbgrader.md`` lists
the gaps in plain nbgrader that these close.
"""
