"""Which story a move belongs to when news is dense: event clusters and confounded rows (pure).

Stories about one asset close in time are one event: a cluster starts at a
story and takes every later story on that asset within ``gap_minutes`` of
the cluster's *first* story (a fixed window, so a busy day does not chain
into one endless event). The first story is the event's time; the others
are follow-ups, whose returns mostly repeat the lead's.

A row is confounded when its horizon holds another event on the same asset
(a new cluster starting after its event time and no later than the horizon's
end), or when it is a follow-up (its window overlaps its lead's). The
earliest such story is named, so a reader can see what else could have
moved the price. ``market`` rows cluster over every story: at real volume
nearly all of them are confounded, which is the truth of a market row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CLUSTER_COLUMNS = ["article_id", "asset_id", "event_id", "event_at", "is_follow_up"]


def cluster_events(events: pd.DataFrame, gap_minutes: int) -> pd.DataFrame:
    """Per (article_id, asset_id): its cluster's ``event_id`` (the lead's article id), ``event_at`` and ``is_follow_up``.

    ``events`` has ``article_id``, ``asset_id`` and ``published_at`` (one
    row per story original and asset; ``market`` rows included).
    """
    if not len(events):
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            CLUSTER_COLUMNS, [object, object, object, "datetime64[us, UTC]", bool])})
    frame = events[["article_id", "asset_id", "published_at"]].drop_duplicates(["article_id", "asset_id"])
    frame = frame.assign(published_at=pd.to_datetime(frame["published_at"], utc=True))
    frame = frame.sort_values(["asset_id", "published_at", "article_id"], kind="stable", ignore_index=True)
    gap = pd.Timedelta(minutes=gap_minutes)
    event_id = np.empty(len(frame), dtype=object)
    event_at = np.empty(len(frame), dtype="datetime64[us]")
    lead_id, lead_at, lead_asset = None, None, None
    for i, (article_id, asset_id, published_at) in enumerate(
            zip(frame["article_id"], frame["asset_id"], frame["published_at"])):
        if asset_id != lead_asset or published_at - lead_at > gap:
            lead_id, lead_at, lead_asset = article_id, published_at, asset_id
        event_id[i] = lead_id
        event_at[i] = lead_at.tz_convert(None).to_datetime64()
    out = frame.assign(event_id=event_id, event_at=pd.to_datetime(event_at).tz_localize("UTC"))
    out["event_at"] = out["event_at"].astype("datetime64[us, UTC]")
    out["is_follow_up"] = out["event_id"] != out["article_id"]
    return out[CLUSTER_COLUMNS]


def confounders(rows: pd.DataFrame, clusters: pd.DataFrame) -> pd.Series:
    """For each row (``article_id``, ``asset_id``, ``published_at``, ``horizon_end_at``): the confounding story or None.

    The earliest other event on the row's asset that starts after the row's
    event time and no later than its horizon end; for a follow-up, its lead.
    """
    out = pd.Series([None] * len(rows), index=rows.index, dtype=object)
    if not len(rows) or not len(clusters):
        return out
    keyed = clusters.set_index(["article_id", "asset_id"])
    leads = clusters[~clusters["is_follow_up"]]
    starts = {a: (g["event_at"].to_numpy(dtype="datetime64[us]"), g["event_id"].to_numpy(dtype=object))
              for a, g in leads.sort_values("event_at", kind="stable").groupby("asset_id", sort=False)}
    for i, article_id, asset_id, end_at in zip(rows.index, rows["article_id"], rows["asset_id"],
                                               pd.to_datetime(rows["horizon_end_at"], utc=True)):
        if (article_id, asset_id) not in keyed.index:
            continue
        own = keyed.loc[(article_id, asset_id)]
        if own["is_follow_up"]:
            out[i] = own["event_id"]
            continue
        at, ids = starts.get(asset_id, (None, None))
        if at is None:
            continue
        t0 = own["event_at"].tz_convert(None).to_datetime64()
        end = end_at.tz_convert(None).to_datetime64()
        j = np.searchsorted(at, t0, side="right")
        if j < len(at) and at[j] <= end:
            out[i] = ids[j]
    return out

