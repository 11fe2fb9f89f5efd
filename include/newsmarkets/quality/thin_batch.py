"""A batch built from mostly failed fetches is an outage, not data: refuse to publish it.

Reruns keep what they could not re-fetch (see ``Warehouse.write``'s
``refreshed``), so a partial failure is safe to publish. When most fetches
failed, publishing would still turn an outage into a green run; the task
fails instead, naming the counts, and the published rows stay as they were.
"""

from __future__ import annotations


class ThinBatchError(RuntimeError):
    """More than the configured share of a run's fetches failed; nothing was published."""


def check_failed_share(what: str, failed: int, attempted: int, max_share: float) -> None:
    """Raise :class:`ThinBatchError` when ``failed / attempted`` exceeds ``max_share``."""
    if attempted and failed / attempted > max_share:
        raise ThinBatchError(
            f"{what}: {failed} of {attempted} fetches failed ({failed / attempted:.0%}, more than "
            f"quality.max_failed_fetch_share = {max_share:.0%}); nothing was published and the published rows "
            "stay as they were")
