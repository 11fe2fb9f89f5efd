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
    world = MarketWorld.generate(start, days, seed, n_assets=getattr(args, "assets", 20) or 20,
                                 shape=shape_from_args(args))
    return world, now, start_arg == "auto"


def shape_from_args(args: argparse.Namespace):
    """The world's knobs: ``--stories-per-day N`` (a dense, realistic world) and ``--knob NAME=JSON`` overrides."""
    from newsmarkets.replay.shape import ShapeError, WorldShape, scaled

    overrides = {}
    for spec in getattr(args, "knob", None) or []:
        name, sep, payload = spec.partition("=")
        if not sep:
            raise ConfigError(f"--knob {spec!r}: expected NAME=JSON, e.g. asset_effect_pct=[1,3]")
        try:
            value = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--knob {name}: value is not JSON ({exc})") from None
        overrides[name.strip()] = tuple(value) if isinstance(value, list) else value
    try:
        stories = getattr(args, "stories_per_day", None)
        if stories is not None:
            events = overrides.pop("events_per_day", None)
            shape = scaled(stories, **({"events_per_day": events[0]} if events else {}))
            return WorldShape.from_dict({**shape.to_dict(), **({"events_per_day": events} if events else {}),
                                         **overrides})
        return WorldShape.from_dict(overrides)
    except (ShapeError, TypeError) as exc:
        raise ConfigError(f"world knobs: {exc}") from None


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
