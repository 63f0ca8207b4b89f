"""``python -m utils.lab [FOLDER] [jupyter lab options]``: open the course in JupyterLab as a student.

Where nbgrader is installed (the course repository, a JupyterHub image), its Lab extension
adds instructor tools: the formgrader, the course list, the "Create Assignment" toolbar, the
Validate button (which passes notebooks whose tests fail) and an Nbgrader menu. This
launcher switches them off, in the Lab page and on the server, through a config folder it
writes in the user's private Jupyter runtime folder and puts first on ``JUPYTER_CONFIG_PATH``;
nothing else is changed, so an instructor's own ``jupyter lab`` keeps every tool. Each variant
(with or without an exchange) has its own folder, written atomically, so two labs started at
once never read each other's config. The Assignments tab (fetch and submit)
stays where an nbgrader exchange is configured (``Exchange.root`` set in an
``nbgrader_config.py`` that Jupyter reads, or in FOLDER).

It runs as root too, as many containers and cloud notebooks do (``--allow-root``).
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

INSTRUCTOR_PLUGINS = ("formgrader", "course-list", "create-assignment", "validate-assignment", "menu")
INSTRUCTOR_SERVER_EXTENSIONS = ("formgrader", "course_list", "validate_assignment")
EXCHANGE_PLUGIN, EXCHANGE_SERVER_EXTENSION = "assignment-list", "assignment_list"


def exchange_configured(folder: Path) -> bool:
    """Whether an ``nbgrader_config.py`` Jupyter would read (or one in ``folder``) sets ``Exchange.root``."""
    from jupyter_core.paths import jupyter_config_path

    candidates = [Path(d) / "nbgrader_config.py" for d in jupyter_config_path()]
    candidates += [Path(folder) / "nbgrader_config.py", Path.cwd() / "nbgrader_config.py"]
    return any(p.is_file() and "Exchange.root" in p.read_text(errors="replace") for p in candidates)


def student_config(with_exchange: bool) -> dict[str, dict]:
    """``{relative path: JSON}`` of the config folder: Lab plugins and server extensions switched off."""
    plugins = INSTRUCTOR_PLUGINS + (() if with_exchange else (EXCHANGE_PLUGIN,))
    servers = INSTRUCTOR_SERVER_EXTENSIONS + (() if with_exchange else (EXCHANGE_SERVER_EXTENSION,))
    return {
        "labconfig/page_config.json": {"disabledExtensions": {f"@jupyter/nbgrader:{p}": True for p in plugins}},
        "jupyter_server_config.json": {"ServerApp": {"jpserver_extensions": {
            f"nbgrader.server_extensions.{s}": False for s in servers}}},
    }


def write_config(directory: Path, with_exchange: bool) -> Path:
    """Write the config folder for one variant under ``directory``; returns that folder."""
    folder = Path(directory) / ("with-exchange" if with_exchange else "no-exchange")
    for name, data in student_config(with_exchange).items():
        path = folder / name
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as part:
            json.dump(data, part, indent=1)
        os.replace(part.name, path)  # a lab starting now reads the old file or the new one, never half of one
    return folder


def config_home() -> Path:
    """``student-lab-config`` in Jupyter's runtime folder: per user, created private (mode 0700)."""
    from jupyter_core.paths import jupyter_runtime_dir

    home = Path(jupyter_runtime_dir()) / "student-lab-config"
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    return home


def lab_command(folder: str, extra: list[str]) -> list[str]:
    argv = [sys.executable, "-m", "jupyterlab", folder, *extra]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        argv.append("--allow-root")
    return argv


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    folder = args.pop(0) if args and not args[0].startswith("-") else "course"
    if not Path(folder).is_dir():
        print(f"error: no folder {folder!r}: run this from the course's top folder, or name the folder", file=sys.stderr)
        return 2
    config = write_config(config_home(), exchange_configured(Path(folder)))
    env = dict(os.environ)
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(filter(None, [str(config), env.get("JUPYTER_CONFIG_PATH")]))
    command = lab_command(folder, args)
    os.execve(command[0], command, env)  # replaces this process: Ctrl-C stops JupyterLab as usual


if __name__ == "__main__":
    sys.exit(main())
