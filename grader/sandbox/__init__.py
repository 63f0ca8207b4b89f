"""Run untrusted student code in an isolated, resource-limited process; get plain data back.

- ``StudentSession``: a jailed worker holding the student's program; ``call`` / ``get`` /
  ``module`` requests return decoded plain data (arrays, numbers, strings).
- ``run_notebook``: execute a whole notebook with nbclient inside the jail.
- ``jail.run`` / ``JailedProcess``: run any command in the jail.

The jail is bubblewrap (``bwrap``): an allow-list file system, new user/mount/PID/network/IPC/UTS
namespaces, started by root or by an ordinary user; a CPU quota and process limit per jail where
cgroups allow (``fair_share_unavailable_reason()`` says when they do not). Without ``bwrap``
every entry point raises ``SandboxUnavailable`` saying what to install (never a silent unjailed
run); ``sandbox_unavailable_reason()`` tells tests whether to skip.
"""
from .codec import AsTensor, CodecError
from .fair_share import fair_share_unavailable_reason
from .jail import JailResult, JailedProcess, SandboxUnavailable, Workspace, require_sandbox, run, sandbox_unavailable_reason
from .limits import Limits
from .notebook import NotebookRun, run_notebook
from .session import ModuleResult, ParameterInfo, StudentCrashed, StudentError, StudentSession, StudentTimeout

__all__ = [
    "AsTensor", "CodecError", "JailResult", "JailedProcess", "Limits", "ModuleResult", "NotebookRun", "ParameterInfo",
    "SandboxUnavailable", "StudentCrashed", "StudentError", "StudentSession", "StudentTimeout", "Workspace",
    "fair_share_unavailable_reason", "require_sandbox", "run", "run_notebook", "sandbox_unavailable_reason",
]
