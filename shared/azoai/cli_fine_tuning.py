"""``azoai fine-tune follow JOB_ID``: a fine-tuning job's progress (status changes and events)
until it finishes, with a configured resource (or the emulator, with ``--endpoint``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Register ``fine-tune`` (with its ``follow`` action) on ``azoai``'s subparsers."""
    from azoai.cli_args import _add_settings_args

    p = sub.add_parser("fine-tune", help="fine-tuning jobs: follow a job's progress")
    actions = p.add_subparsers(dest="fine_tune_action", metavar="ACTION", required=True)
    f = actions.add_parser(
        "follow",
        help="print a job's status changes and events until it finishes",
        description="Polls the job and its events and prints each change until the job "
        "succeeds (exit 0, printing the fine-tuned model's name), fails or is cancelled "
        "(exit 1).",
    )
    f.add_argument("job_id", help="the job's id (ftjob-...)")
    f.add_argument("--interval", type=float, default=10.0, help="seconds between polls (10)")
    f.add_argument("--timeout", type=float, help="give up after this many seconds")
    _add_settings_args(f)


def run(args: argparse.Namespace) -> int:
    from azoai.cli_args import _settings_kwargs, flags
    from azoai.errors import AzoaiError, ConfigError
    from azoai.fine_tuning import FineTuning

    job = None
    try:
        with FineTuning(**_settings_kwargs(args)) as ft:
            for update in ft.follow(args.job_id, poll_interval=args.interval, timeout=args.timeout):
                job = update.job
                if args.json:
                    print(
                        json.dumps(
                            {
                                "status": job.status,
                                "fine_tuned_model": job.fine_tuned_model,
                                "events": [e.message for e in update.events],
                            }
                        ),
                        flush=True,
                    )
                    continue
                print(f"[{job.status}]", flush=True)
                for event in update.events:
                    print(f"  {event.message}", flush=True)
    except AzoaiError as err:
        print(f"azoai fine-tune follow: {flags(str(err))}", file=sys.stderr)
        return 2 if isinstance(err, ConfigError) else 1
    assert job is not None
    if job.succeeded:
        if not args.json:
            print(f"fine-tuned model: {job.fine_tuned_model}")
        return 0
    reason = (job.error or {}).get("message")
    print(
        f"azoai fine-tune follow: job {job.id} ended {job.status}"
        + (f": {reason}" if reason else ""),
        file=sys.stderr,
    )
    return 1
