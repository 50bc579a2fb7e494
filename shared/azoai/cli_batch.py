"""``azoai batch``: Batch API jobs from the command line (see :mod:`azoai.batch`).

::

    azoai batch submit requests.jsonl --deployment gpt-4o-batch    # a JSONL of batch requests
    azoai batch submit docs/ --deployment embed-batch               # a folder of texts: embeddings
    azoai batch submit docs/ --deployment gpt-4o-batch --prompt "Summarise:\\n{text}"
    azoai batch list                                                # jobs recorded here
    azoai batch status JOB [--watch]                                # a progress bar over requests
    azoai batch collect JOB --out results.jsonl [--delete-files]
    azoai batch cancel JOB

Jobs are recorded in ``--job-dir`` (default ``$AZOAI_BATCH_DIR`` or the user cache directory),
so any later command (another shell, another machine with the directory) finds them. The
progress bar uses rich when it is installed; ``--json`` prints machine-readable output.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Register ``batch`` and its actions on ``azoai``'s subparsers."""
    from azoai.cli_args import _add_settings_args

    p = sub.add_parser(
        "batch",
        help="Batch API jobs: submit a JSONL or a folder of texts, list, status, collect, cancel",
    )
    actions = p.add_subparsers(dest="batch_action", metavar="ACTION", required=True)

    def common(a: argparse.ArgumentParser) -> None:
        _add_settings_args(a)
        a.add_argument("--job-dir", dest="job_dir", help="where job records live")

    s = actions.add_parser(
        "submit",
        help="submit a JSONL of batch requests, or a folder of texts (embeddings, or chat "
        "with --prompt)",
    )
    s.add_argument("path", help="a .jsonl file of batch requests, or a folder of text files")
    s.add_argument("--prompt", help="chat instead of embeddings: a prompt template with {text}")
    s.add_argument("--dimensions", type=int, help="embeddings dimensions (text-embedding-3)")
    s.add_argument("--max-requests-per-file", dest="max_requests_per_file", type=int)
    s.add_argument("--max-bytes-per-file", dest="max_bytes_per_file", type=int)
    s.add_argument("--enqueued-token-limit", dest="enqueued_token_limit", type=int)
    common(s)
    ls = actions.add_parser("list", help="the jobs recorded in the job directory")
    ls.add_argument("--remote", action="store_true", help="Azure's recent batches instead")
    common(ls)
    st = actions.add_parser("status", help="a job's progress (refreshed from Azure)")
    st.add_argument("job_id")
    st.add_argument("--watch", action="store_true", help="follow it until it is done")
    st.add_argument("--interval", type=float, default=15.0, help="seconds between polls (15)")
    common(st)
    co = actions.add_parser("collect", help="wait for a job and write its results as JSONL")
    co.add_argument("job_id")
    co.add_argument("--out", help="file to write (default: standard output)")
    co.add_argument("--timeout", type=float, help="give up waiting after this many seconds")
    co.add_argument("--interval", type=float, default=15.0, help="seconds between polls (15)")
    co.add_argument(
        "--delete-files",
        dest="delete_files",
        action="store_true",
        help="then delete its files on Azure",
    )
    common(co)
    ca = actions.add_parser("cancel", help="cancel a job (what ran is still collected)")
    ca.add_argument("job_id")
    common(ca)


# --- helpers ----------------------------------------------------------------------------------------


def _batches(args: argparse.Namespace, **options: Any) -> Any:
    from azoai.batch import Batches
    from azoai.cli_args import _settings_kwargs
    from azoai.client import Client

    opts = {k: v for k, v in options.items() if v is not None}
    if getattr(args, "job_dir", None):
        opts["job_dir"] = args.job_dir
    if getattr(args, "interval", None) is not None:
        opts["poll_interval"] = args.interval
        opts["max_poll_interval"] = max(args.interval, 60.0)
    return Batches(Client(**_settings_kwargs(args)), opts)


def _texts(folder: Path) -> tuple[list[Path], Iterator[str]]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))

    def read() -> Iterator[str]:
        for path in files:
            yield path.read_text(encoding="utf-8", errors="replace")

    return files, read()


def _status_dict(st: Any) -> dict[str, Any]:
    return {
        "id": st.id,
        "kind": st.kind,
        "deployment": st.deployment,
        "state": st.state,
        "total": st.total,
        "completed": st.completed,
        "failed": st.failed,
        "files": [
            {"n": f.n, "status": f.status, "batch_id": f.batch_id, "total": f.total}
            for f in st.files
        ],
    }


class _Progress:
    """A rich progress bar over a job's requests when rich is installed and not ``--json``;
    otherwise one line per change."""

    def __init__(self, enabled: bool) -> None:
        self._bar: Any = None
        self._task: Any = None
        self._last: tuple[Any, ...] | None = None
        self.enabled = enabled
        if enabled and sys.stderr.isatty():  # a bar at a terminal; lines in a log or a pipe
            try:
                from rich.console import Console
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
            except ImportError:
                return
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                transient=False,
                console=Console(stderr=True),
            )

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, st: Any) -> None:
        if not self.enabled:
            return
        done = st.completed + st.failed
        label = f"{st.id} {st.state} ({st.failed} failed)"
        if self._bar is not None:
            if self._task is None:
                self._task = self._bar.add_task(label, total=st.total or 1)
            self._bar.update(self._task, completed=done, total=st.total or 1, description=label)
            return
        now = (st.state, done)
        if now != self._last:
            print(f"{label}: {done}/{st.total}", file=sys.stderr, flush=True)
            self._last = now


def _item_json(item: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"index": item.index}
    if item.label is not None:
        out["label"] = item.label
    if item.error is not None:
        err = item.error
        out["error"] = {
            "type": type(err).__name__,
            "message": err.message,
            "code": err.code,
            "status_code": err.status_code,
        }
        return out
    result = item.result
    if isinstance(result, list):
        out["embedding"] = result
    elif isinstance(result, dict):
        out["response"] = result
    else:
        out["response"] = result.raw
    return out


# --- actions --------------------------------------------------------------------------------------


def _submit(args: argparse.Namespace) -> int:
    from azoai.wire import ChatRequest, Message

    b = _batches(
        args,
        max_requests_per_file=args.max_requests_per_file,
        max_bytes_per_file=args.max_bytes_per_file,
        enqueued_token_limit=args.enqueued_token_limit,
    )
    path = Path(args.path)
    if path.is_dir():
        files, texts = _texts(path)
        if args.prompt is not None:
            template = args.prompt if "{text}" in args.prompt else args.prompt + "\n\n{text}"
            requests = (
                ChatRequest(messages=[Message("user", template.replace("{text}", t))])
                for t in texts
            )
            job = b.submit_chat(requests)
        else:
            job = b.submit_embeddings(texts, dimensions=args.dimensions)
        labels = [str(p.relative_to(path)) for p in files]
        (job.folder / "labels.jsonl").write_text(
            "".join(json.dumps(x) + "\n" for x in labels), encoding="utf-8"
        )
        job.record.labels = True
        job.store.save(job.record)
    elif path.is_file():
        job = b.submit_jsonl(path)
    else:
        print(f"azoai batch submit: {path} is neither a file nor a folder", file=sys.stderr)
        return 2
    st = job.status()
    if args.json:
        print(json.dumps(_status_dict(st)))
    else:
        print(job.id)
        print(
            f"{st.total} requests in {len(st.files)} file(s), {st.state}; "
            f"follow with: azoai batch status {job.id} --watch",
            file=sys.stderr,
        )
    return 0


def _list(args: argparse.Namespace) -> int:
    b = _batches(args)
    if args.remote:
        rows = [
            {
                "id": i.id,
                "status": i.status,
                "endpoint": i.endpoint,
                "total": i.request_counts.total,
                "completed": i.request_counts.completed,
                "failed": i.request_counts.failed,
            }
            for i in b.remote()
        ]
    else:
        rows = []
        for r in b.jobs():
            statuses = sorted({f.status for f in r.files}) or ["done"]
            rows.append(
                {
                    "id": r.id,
                    "kind": r.kind,
                    "deployment": r.deployment,
                    "endpoint": r.endpoint,
                    "total": r.total,
                    "files": len(r.files),
                    "status": ",".join(statuses) + (" (cancelled)" if r.cancelled else ""),
                    "created": time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at)),
                }
            )
    if args.json:
        print(json.dumps(rows))
        return 0
    from azoai.cli_output import Output

    columns = list(rows[0]) if rows else ["id"]
    Output().table(
        "Azure batches" if args.remote else f"Batch jobs in {b.store.directory}",
        columns,
        [["" if row[c] is None else str(row[c]) for c in columns] for row in rows],
    )
    return 0


def _status(args: argparse.Namespace) -> int:
    job = _batches(args).resume(args.job_id)
    with _Progress(enabled=not args.json) as progress:
        st = job.wait(progress=progress.update) if args.watch else job.poll()
        progress.update(st)
    if args.json:
        print(json.dumps(_status_dict(st)))
    return 0


def _collect(args: argparse.Namespace) -> int:
    job = _batches(args).resume(args.job_id)
    with _Progress(enabled=not args.json and args.out is not None) as progress:
        job.wait(timeout=args.timeout, progress=progress.update)
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
    ok = failed = 0
    try:
        for item in job.collect(wait=False):
            out.write(json.dumps(_item_json(item)) + "\n")
            ok, failed = (ok + 1, failed) if item.ok else (ok, failed + 1)
    finally:
        if out is not sys.stdout:
            out.close()
    if args.delete_files:
        job.delete_files()
    print(f"{ok} results, {failed} failed", file=sys.stderr)
    return 0 if failed == 0 else 1


def _cancel(args: argparse.Namespace) -> int:
    st = _batches(args).resume(args.job_id).cancel()
    print(json.dumps(_status_dict(st)) if args.json else f"{st.id}: {st.state}")
    return 0


def run(args: argparse.Namespace) -> int:
    from azoai.errors import AzoaiError, ConfigError

    action = {
        "submit": _submit,
        "list": _list,
        "status": _status,
        "collect": _collect,
        "cancel": _cancel,
    }[args.batch_action]
    try:
        return action(args)
    except AzoaiError as err:
        from azoai.cli_args import flags

        print(f"azoai batch {args.batch_action}: {flags(str(err))}", file=sys.stderr)
        return 2 if isinstance(err, ConfigError) else 1
