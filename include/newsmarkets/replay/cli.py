"""``newsmarkets replay …``: build the world from the config's replay section and serve it."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, timedelta, timezone

from newsmarkets.config import ConfigError, load_config


def world_from_args(args: argparse.Namespace):
    """The replay world the config (plus command-line overrides) describes, and its clock."""
    from newsmarkets.replay.world import MarketWorld

    rc = load_config(getattr(args, "config", None)).replay
    start_arg = getattr(args, "start", None) or rc.start
    days = getattr(args, "days", None) or rc.days
    seed = getattr(args, "seed", None) if getattr(args, "seed", None) is not None else rc.seed
    now = None
    if start_arg == "auto":
        # A world around today whose clock is the wall clock, so live DAGs
        # (prices_snapshot every 5 minutes) see prices "now".
        start = date.today() - timedelta(days=max(days - 1, 1))
        days = max(days, (date.today() - start).days + 1)
    else:
        try:
            start = date.fromisoformat(start_arg)
        except ValueError:
            raise ConfigError(f"--start: expected yyyy-mm-dd or 'auto', got {start_arg!r}") from None
    if getattr(args, "now", None):
        try:
            now = datetime.fromisoformat(args.now.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"--now: expected an ISO time like 2026-01-07T23:55:00Z, got {args.now!r}") from None
        if now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)
    world = MarketWorld.generate(start, days, seed, n_assets=getattr(args, "assets", 20) or 20)
    return world, now, start_arg == "auto"


def serve(args: argparse.Namespace) -> int:
    from newsmarkets.replay.server import serve_forever

    world, now, wall_clock = world_from_args(args)
    faults = {}
    for spec in args.fault:
        name, _, payload = spec.partition("=")
        try:
            faults[name] = json.loads(payload) if payload else {"count": 1}
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--fault {name}: value is not JSON ({exc})") from None
    port = args.port if args.port is not None else load_config(args.config).replay.port
    serve_forever(world, args.host, port, now=now, wall_clock=wall_clock, faults=faults or None)
    return 0


def truth(args: argparse.Namespace) -> int:
    world, _, _ = world_from_args(args)
    text = json.dumps(world.truth(), indent=2, default=str)
    if args.out == "-":
        sys.stdout.write(text + "\n")
    else:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        print(f"wrote ground truth ({len(world.events)} events) to {args.out}")
    return 0
