"""The build backend: hatchling, after a check that the Python building azoai can run it.

pip reads ``requires-python`` only after resolving every dependency of a source checkout, and on
an unsupported Python it then backtracks through their versions for many minutes before it
fails (pip 23 on Python 3.10 took over nine minutes for ``pip install ".[all]"``). pip asks the
build backend for the build requirements first, so the check here fails in seconds, with one
line saying what to do. Keep this file free of syntax newer than Python 3.8.
"""

import sys

REQUIRED = (3, 11)

if sys.version_info < REQUIRED:
    raise SystemExit(
        "azoai needs Python {}.{} or newer; this is Python {}.{} ({}). Create the virtual "
        "environment with a newer Python, e.g. `python3.11 -m venv .venv`.".format(
            *REQUIRED, *sys.version_info[:2], sys.executable
        )
    )

from hatchling.build import *  # noqa: E402, F403
