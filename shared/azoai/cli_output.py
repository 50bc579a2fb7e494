"""How the ``azoai`` command line prints.

At a terminal with rich installed (``pip install 'azoai[cli]'``) output is coloured and tables
are drawn; without rich it is plain text; piped (not a terminal) it is plain and parseable:
tables are tab-separated with a header line, and nothing is wrapped or cut. A table never
shortens a name: when it does not fit the terminal's width it is printed one record per row
instead. Notes (hints, what to do next) go to standard error, so piped output stays the data.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from typing import IO, Any

__all__ = ["Cell", "Output"]

#: A table cell: one line of text, or several (a deployment's rules).
Cell = str | Sequence[str]

_MARKS = {"pass": "PASS", "fail": "FAIL", "warn": "WARN", "skip": "SKIP"}
_STYLES = {"pass": "green", "fail": "red", "warn": "yellow", "skip": "dim"}
_LAST_MIN = 30  # the least width the last column of a drawn table wraps to


def _lines(cell: Cell) -> list[str]:
    return [cell] if isinstance(cell, str) else [str(x) for x in cell]


def _flat(cell: Cell) -> str:
    """One field of a tab-separated line: no tab or newline inside."""
    text = "; ".join(line for line in _lines(cell) if line)
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")


class Output:
    """Where and how one command prints (see the module docstring)."""

    def __init__(self, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.terminal = _isatty(self.stdout)
        self._rich: Any = None
        self._rich_err: Any = None
        if self.terminal:
            try:
                from rich.console import Console
            except ImportError:
                pass  # plain text: rich is the cli extra's, and optional
            else:
                self._rich = Console(file=self.stdout, highlight=False)
                if _isatty(self.stderr):
                    self._rich_err = Console(file=self.stderr, highlight=False)

    @property
    def width(self) -> int:
        if self._rich is not None:
            return int(self._rich.width)
        return shutil.get_terminal_size().columns

    # -- lines -----------------------------------------------------------------------------------

    def line(self, text: str = "", style: str | None = None) -> None:
        """A line of output (rich markup in ``text`` is printed as it is, never interpreted)."""
        if self._rich is not None:
            from rich.text import Text

            self._rich.print(Text(text, style=style or ""), soft_wrap=True)
        else:
            print(text, file=self.stdout, flush=True)

    def stream(self, text: str) -> None:
        """Streamed text, as it arrives (no newline added)."""
        self.stdout.write(text)
        self.stdout.flush()

    def note(self, text: str, style: str | None = None) -> None:
        """A hint or a problem, on standard error."""
        if self._rich_err is not None:
            from rich.text import Text

            self._rich_err.print(Text(text, style=style or ""), soft_wrap=True)
        else:
            print(text, file=self.stderr, flush=True)

    def check(self, status: str, name: str, detail: str, fix: str | None = None) -> None:
        """One ``PASS  name: detail`` line, and its ``fix:`` line under it (``hint:`` under a
        skipped step)."""
        label = "hint:" if status == "skip" else "fix:"
        if self._rich is not None:
            from rich.text import Text

            line = Text()
            line.append(_MARKS[status], style=_STYLES[status])
            line.append(f"  {name}: {detail}")
            self._rich.print(line)  # wrapped at word boundaries, never cut
            if fix:
                fixed = Text("      ")
                fixed.append(label, style="bold")
                fixed.append(f" {fix}")
                self._rich.print(fixed)
            return
        print(f"{_MARKS[status]}  {name}: {detail}", file=self.stdout)
        if fix:
            print(f"      {label} {fix}", file=self.stdout)
        self.stdout.flush()

    # -- tables ----------------------------------------------------------------------------------

    def table(
        self,
        title: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Cell]],
        *,
        title_when_piped: bool = False,
    ) -> None:
        """A table: tab-separated when piped (a header line, then one line per row; a cell of
        several lines joined with ``; ``), drawn at a terminal when it fits, one record per row
        when it does not. ``title_when_piped`` prints the title above the piped form too (for
        a report of several tables)."""
        if not self.terminal:
            if title_when_piped:
                print(f"{title}:", file=self.stdout)
            print("\t".join(columns), file=self.stdout)
            for row in rows:
                print("\t".join(_flat(c) for c in row), file=self.stdout)
            self.stdout.flush()
            return
        # at a terminal a column empty in every row says nothing: leave it out
        keep = [0] + [i for i in range(1, len(columns)) if any(_flat(r[i]) for r in rows)]
        columns = [columns[i] for i in keep]
        rows = [[row[i] for i in keep] for row in rows]
        widths = [
            max([len(col), *(len(line) for row in rows for line in _lines(row[i]))])
            for i, col in enumerate(columns)
        ]
        # rich's box: a border before each column and after the last, one space either side.
        # The last column (a description, a deployment's rules) may wrap, at word boundaries,
        # down to _LAST_MIN; the others keep their whole width or the table is not drawn.
        last = min(widths[-1], _LAST_MIN)
        if sum(widths[:-1]) + last + 3 * len(widths) + 1 <= self.width:
            self._grid(title, columns, rows, widths)
        else:
            self._records(title, columns, rows)

    def _grid(
        self,
        title: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Cell]],
        widths: Sequence[int],
    ) -> None:
        if self._rich is not None:
            from rich.table import Table

            table = Table(title=title, header_style="bold")
            for i, col in enumerate(columns):
                if i < len(columns) - 1:
                    table.add_column(col, no_wrap=True, min_width=widths[i])
                else:
                    table.add_column(col, overflow="fold")
            for row in rows:
                table.add_row(*("\n".join(_lines(c)) for c in row))
            self._rich.print(table)
            return
        print(title, file=self.stdout)
        header = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
        print(header.rstrip(), file=self.stdout)
        for row in rows:
            cells = [_lines(c) for c in row]
            for k in range(max((len(c) for c in cells), default=1)):
                parts = [
                    (c[k] if k < len(c) else "").ljust(w)
                    for c, w in zip(cells, widths, strict=True)
                ]
                print("  ".join(parts).rstrip(), file=self.stdout)
        self.stdout.flush()

    def _records(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
        """Too wide for the terminal: each row as a name line and ``column: value`` lines, so
        no value is cut (a line longer than the terminal wraps, whole)."""
        self.line(title, style="bold")
        for row in rows:
            self.line(_flat(row[0]), style="bold")
            for col, cell in zip(columns[1:], row[1:], strict=True):
                lines = [line for line in _lines(cell) if line]
                if not lines:
                    continue
                self.line(f"  {col}: {lines[0]}")
                for more in lines[1:]:
                    self.line(f"  {' ' * len(col)}  {more}")


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False
