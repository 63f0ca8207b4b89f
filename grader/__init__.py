"""grader: the instructor side — nbgrader plus hidden checks judged outside student code.

Entry point: ``python -m grader`` (see ``grader.cli``). Hidden checks live in
``grader/checks/<week>/`` and never leave this package.
"""

import sys as _sys

# jsonschema imports the optional IRI checker ``rfc3987_syntax`` eagerly, and that package
# builds a parser at import time: 2-5 s in every grader process that touches nbformat.
# Notebooks never hold IRIs to validate, so the grader's processes go without it.
_sys.modules.setdefault("rfc3987_syntax", None)
