"""grader: the instructor side — nbgrader plus hidden checks judged outside student code.

Entry point: ``python -m grader <command>`` (``grader.cli`` maps each command to its module).

    grader/
      cli.py            the commands
      limits.py         every time and size limit, and how they nest
      records.py        the typed records that cross process boundaries
      ids.py, inert.py  student ids checked; student text made harmless wherever it is shown
      pipeline/         grading one submission, stage by stage (precheck, autograde, answers,
                        hidden_checks, submission), a class in parallel (batch), render later
      checks/           the hidden checks: checks/<week>/test_*.py, their pytest plugin (harness)
                        and helpers (support); they never leave this package
      sandbox/          the jail student code runs in (bubblewrap), and what it may see (paths)
      nbgrader_setup/   nbgrader configured for the course: settings, replaced steps, gradebook
      course/           the course on disk and its operations: generate, collect, bundle,
                        export, feedback, report, similarity, goldens, seeds, deadlines, authoring
      demo/             the demo command and its sample class of submissions
"""

import sys as _sys

# jsonschema imports the optional IRI checker ``rfc3987_syntax`` eagerly, and that package
# builds a parser at import time: 2-5 s in every grader process that touches nbformat.
# Notebooks never hold IRIs to validate, so the grader's processes go without it.
_sys.modules.setdefault("rfc3987_syntax", None)
