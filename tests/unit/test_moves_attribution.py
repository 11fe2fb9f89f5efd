"""Event clusters and confounded rows on tiny inline inputs."""

from __future__ import annotations

import pandas as pd

from newsmarkets.moves import MARKET
from newsmarkets.moves.attribution import cluster_events, confounders


def at(hhmm: str) -> pd.Timestamp:
    return pd.Timestamp(f"2026-01-05T{hhmm}Z")


EVENTS = pd.DataFrame({
    "article_id": ["a1", "a2", "a3", "a4", "a5", "a6"],
    "asset_id": ["bitcoin", "bitcoin", "bitcoin", "ethereum", "bitcoin", "bitcoin"],
    "published_at": [at("10:00"), at("10:20"), at("11:10"), at("10:05"), at("13:00"), at("10:50")],
})


def test_stories_on_one_asset_within_the_gap_of_the_first_form_one_event():
    c = cluster_events(EVENTS, gap_minutes=60).set_index("article_id")
    # a1 leads; a2 (20 min) and a6 (50 min) follow; a3 at 70 min from a1 starts a new event even though
    # it is 20 min after a6: the window is fixed at the lead, so a busy hour does not chain forever
    assert c.loc[["a1", "a2", "a6", "a3", "a5"], "event_id"].tolist() == ["a1", "a1", "a1", "a3", "a5"]
    assert c.loc[["a1", "a2", "a6", "a3"], "is_follow_up"].tolist() == [False, True, True, False]
    assert c.loc["a2", "event_at"] == at("10:00")
    assert c.loc["a4", "event_id"] == "a4" and not c.loc["a4", "is_follow_up"]  # another asset, its own event


def rows(horizon: str) -> pd.DataFrame:
    return EVENTS.assign(horizon_end_at=EVENTS["published_at"] + pd.Timedelta(horizon))


def test_a_row_is_confounded_by_the_next_event_on_its_asset_inside_its_horizon():
    clusters = cluster_events(EVENTS, gap_minutes=60)
    one_hour = confounders(rows("1h"), clusters).tolist()
    # a1's hour (10:00-11:00) holds no new bitcoin event (a2, a6 are its own follow-ups); a3's hour is clear
    assert one_hour == [None, "a1", None, None, None, "a1"]
    four_hours = confounders(rows("4h"), clusters).tolist()
    # a1's 4 hours hold a3's event (11:10) first; a3's hold a5's (13:00)
    assert four_hours == ["a3", "a1", "a5", None, None, "a1"]


def test_market_rows_cluster_over_every_story():
    market = EVENTS.assign(asset_id=MARKET)
    clusters = cluster_events(market, gap_minutes=30).set_index("article_id")
    assert clusters.loc[["a1", "a4", "a2", "a6", "a3"], "event_id"].tolist() == ["a1", "a1", "a1", "a6", "a6"]


def test_events_outside_the_rows_still_lead_and_confound():
    clusters = cluster_events(EVENTS, gap_minutes=60)
    only_a3 = rows("4h").iloc[[2]]
    assert confounders(only_a3, clusters).tolist() == ["a5"]
    assert cluster_events(EVENTS.iloc[:0], 60).empty


def test_a_moves_candidate_stories_put_each_events_first_story_before_its_follow_ups():
    from newsmarkets.moves.market_moves import attach_articles

    moves = pd.DataFrame({"asset_id": ["bitcoin"], "window_start_at": [at("11:00")], "window_end_at": [at("12:00")]})
    originals = pd.DataFrame({"article_id": ["lead", "follow", "other", "unlinked"],
                              "title": ["Bitcoin ETF approved", "More on the ETF", "Miners sell", "Rates on hold"],
                              "published_at": [at("10:10"), at("10:40"), at("08:30"), at("11:20")]})
    links = pd.DataFrame({"article_id": ["lead", "follow", "other"], "asset_id": ["bitcoin"] * 3})
    plain = attach_articles(moves, originals, links, lookback_minutes=180)
    ranked = attach_articles(moves, originals, links, lookback_minutes=180, event_gap_minutes=60)
    assert plain.loc[0, "article_ids"] == ["follow", "lead", "other", "unlinked"]  # most recent linked first
    # the follow-up repeats the lead: the lead and the other event's story come first, then the follow-up
    assert ranked.loc[0, "article_ids"] == ["lead", "other", "follow", "unlinked"]
    assert (ranked.loc[0, "article_count"], ranked.loc[0, "linked_article_count"]) == (4, 3)
