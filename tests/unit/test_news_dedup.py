"""Story grouping: exact and near-duplicate copies across outlets, and joining earlier stories."""

from __future__ import annotations

import random
import time

import numpy as np
import pandas as pd
import pytest

from newsmarkets.news.dedup import DedupError, assign_stories, content_hash, minhash, shingles

WIRE = [
    "The exchange said on Monday it would suspend withdrawals of two smaller tokens while it investigates "
    "an unusual pattern of transfers from a hot wallet used for customer payouts.",
    "A spokesperson said customer balances were not affected and that trading in all other assets would "
    "continue as normal while engineers reviewed the wallet's signing process.",
    "Analysts said the suspension was likely to be brief, noting that the exchange had handled a similar "
    "incident two years ago within a day and reimbursed the small number of affected users.",
    "The tokens concerned fell by about four percent in the hour after the announcement before recovering "
    "part of the loss, according to prices compiled by a market data provider.",
    "Regulators in the exchange's home country said they had been informed and were monitoring the "
    "situation, but declined to comment on whether any formal inquiry had been opened.",
    "The company plans to publish a full account of the incident once its review is complete, the spokesperson "
    "added, without giving a date.",
]
OTHER = [
    "A football club announced a new stadium sponsor on Tuesday in a deal that runs for five seasons and "
    "includes naming rights for the training ground as well as the main stand.",
    "The club's chief executive said the agreement would fund a youth academy expansion and a new pitch "
    "heating system, both of which had been delayed by the pandemic.",
    "Supporters' groups reacted cautiously, saying they welcomed the investment but wanted assurances that "
    "ticket prices would not rise as a result of the deal.",
]


def frame(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "article_id": [r[0] for r in rows],
            "source": [r[1] for r in rows],
            "published_at": pd.to_datetime([r[2] for r in rows], utc=True),
            "body": [r[3] for r in rows],
        }
    )


def story(paragraphs: list[str]) -> str:
    return "\n".join(paragraphs)


def test_content_hash_ignores_case_spacing_and_punctuation():
    assert content_hash("Hello,  World!\n") == content_hash("hello world")
    assert content_hash("Hello world") != content_hash("Hello there world")
    assert len(content_hash("x")) == 64


def test_syndicated_copies_with_different_boilerplate_form_one_story():
    rows = [
        ("a-wire", "wire", "2026-01-05T09:00Z", story(WIRE)),
        ("b-outlet", "outlet-b", "2026-01-05T09:20Z",
         "LONDON (Example Wire) - " + story(WIRE) + "\nSubscribe to our newsletter for more market news."),
        ("c-blog", "blog-c", "2026-01-05T10:05Z",
         "This story was originally published by our partner.\n" + story(WIRE[:5]) + "\nFollow us on social media."),
        ("d-trim", "outlet-d", "2026-01-05T11:00Z", story(WIRE[:3])),  # a trimmed copy
        ("e-football", "sports", "2026-01-05T09:30Z", story(OTHER)),
    ]
    out = assign_stories(frame(rows))
    assert list(out.columns) == ["article_id", "source", "published_at", "body", "story_id", "is_original"]
    wire_story = out.set_index("article_id")["story_id"]
    assert {wire_story[a] for a in ("a-wire", "b-outlet", "c-blog", "d-trim")} == {"a-wire"}
    assert wire_story["e-football"] == "e-football"
    assert out.set_index("article_id")["is_original"].to_dict() == {
        "a-wire": True, "b-outlet": False, "c-blog": False, "d-trim": False, "e-football": True,
    }


def test_exact_duplicates_and_original_by_time_then_id():
    rows = [
        ("zz", "s1", "2026-01-05T10:00Z", story(WIRE)),
        ("aa", "s2", "2026-01-05T10:00Z", story(WIRE).upper()),  # same minute: id breaks the tie
        ("mm", "s3", "2026-01-05T08:00Z", story(WIRE) + " "),
    ]
    out = assign_stories(frame(rows)).set_index("article_id")
    assert set(out["story_id"]) == {"mm"}
    assert out["is_original"].to_dict() == {"zz": False, "aa": False, "mm": True}
    tie = assign_stories(frame(rows[:2])).set_index("article_id")
    assert tie["is_original"].to_dict() == {"zz": False, "aa": True}


def test_same_topic_different_text_stays_apart():
    rewrite = [
        "Withdrawals of two tokens were halted at a large trading venue, which cited odd movements from a wallet.",
        "The venue insisted client funds were safe. Market watchers expect a quick resolution.",
        "Prices of the affected tokens dipped and then bounced, data showed.",
    ]
    out = assign_stories(frame([("a", "x", "2026-01-05T09:00Z", story(WIRE)), ("b", "y", "2026-01-05T09:30Z", story(rewrite))]))
    assert out["story_id"].tolist() == ["a", "b"]
    assert out["is_original"].tolist() == [True, True]


def test_copies_far_apart_in_time_are_not_merged():
    out = assign_stories(frame([("a", "x", "2026-01-01T09:00Z", story(WIRE)), ("b", "y", "2026-01-20T09:00Z", story(WIRE))]))
    assert out["story_id"].tolist() == ["a", "b"]


def test_later_copy_joins_existing_story_under_its_id():
    first = assign_stories(frame([("orig", "wire", "2026-01-05T09:00Z", story(WIRE)),
                                  ("copy1", "b", "2026-01-05T09:30Z", "Intro line. " + story(WIRE))]))
    existing = first[["article_id", "published_at", "body", "story_id"]]
    later = frame([("copy2", "c", "2026-01-06T08:00Z", story(WIRE[1:]) + "\nSource link"),
                   ("fresh", "d", "2026-01-06T08:00Z", story(OTHER))])
    out = assign_stories(later, existing=existing).set_index("article_id")
    assert out.loc["copy2", "story_id"] == "orig" and not out.loc["copy2", "is_original"]
    assert out.loc["fresh", "story_id"] == "fresh" and out.loc["fresh", "is_original"]
    assert list(out.index) == ["copy2", "fresh"]  # only the new rows come back


def test_existing_story_id_is_kept_even_if_an_earlier_copy_turns_up():
    existing = pd.DataFrame({"article_id": ["late"], "published_at": pd.to_datetime(["2026-01-05T12:00Z"], utc=True),
                             "body": [story(WIRE)], "story_id": ["late"]})
    out = assign_stories(frame([("early", "x", "2026-01-05T08:00Z", story(WIRE))]), existing=existing)
    assert out["story_id"].tolist() == ["late"]  # published ids never change
    assert out["is_original"].tolist() == [True]  # but it is the earliest copy known


def test_empty_bodies_are_their_own_stories_and_missing_dates_sort_last():
    out = assign_stories(frame([("a", "x", "2026-01-05T09:00Z", ""), ("b", "y", "2026-01-05T09:00Z", "")]))
    assert out["story_id"].tolist() == ["a", "b"]
    undated = frame([("a", "x", "2026-01-05T09:00Z", story(WIRE)), ("b", "y", "2026-01-05T08:00Z", story(WIRE))])
    undated["published_at"] = [pd.NaT, pd.Timestamp("2026-01-05T09:00Z")]
    out = assign_stories(undated).set_index("article_id")
    assert out["is_original"].to_dict() == {"a": False, "b": True}


def test_same_article_id_twice_is_one_story():
    out = assign_stories(frame([("a", "x", "2026-01-05T09:00Z", story(WIRE)), ("a", "x", "2026-01-05T09:00Z", story(OTHER))]))
    assert out["story_id"].tolist() == ["a", "a"]
    assert out["is_original"].tolist() == [True, False]


def test_index_and_order_are_preserved():
    df = frame([("b", "x", "2026-01-05T09:00Z", story(OTHER)), ("a", "y", "2026-01-05T08:00Z", story(WIRE))])
    df.index = [10, 20]
    out = assign_stories(df)
    assert list(out.index) == [10, 20] and out["article_id"].tolist() == ["b", "a"]


def test_missing_columns_are_named():
    with pytest.raises(DedupError, match="body"):
        assign_stories(pd.DataFrame({"article_id": ["a"], "source": ["x"], "published_at": [pd.Timestamp.now(tz="UTC")]}))
    with pytest.raises(DedupError, match="existing.*story_id"):
        assign_stories(frame([("a", "x", "2026-01-05T09:00Z", "text")]),
                       existing=pd.DataFrame({"article_id": [], "published_at": [], "body": []}))


def test_minhash_estimates_jaccard():
    a, b = shingles(story(WIRE)), shingles(story(WIRE[:4]) + " entirely new closing words here")
    exact = np.intersect1d(a, b).size / np.union1d(a, b).size
    estimate = float(np.mean(minhash(a) == minhash(b)))
    assert abs(exact - estimate) < 0.15


def test_scales_to_thousands_of_articles():
    rng = random.Random(3)
    vocab = [f"w{i}" for i in range(3000)]
    bodies = [" ".join(rng.choice(vocab) for _ in range(300)) for _ in range(1000)]
    bodies[500] = "Reprinted: " + bodies[10]
    df = pd.DataFrame({"article_id": [f"id{i:04d}" for i in range(1000)], "source": "s",
                       "published_at": pd.Timestamp("2026-01-05", tz="UTC"), "body": bodies})
    start = time.perf_counter()
    out = assign_stories(df)
    assert time.perf_counter() - start < 10
    assert out["story_id"].nunique() == 999
    assert out.loc[500, "story_id"] == "id0010"


def test_replay_world_stories_are_grouped_exactly_as_generated():
    """Templated reports of different events look alike (up to ~75% shared shingles); only real copies merge."""
    from newsmarkets.replay.news_world import NewsWorld
    from newsmarkets.replay.world import MarketWorld

    market = MarketWorld.generate("2026-01-05", 3, 20260105)
    articles = NewsWorld.generate(market, 20260105).articles
    df = pd.DataFrame({
        "article_id": [a.slug for a in articles], "source": [a.outlet for a in articles],
        "published_at": [a.published_at for a in articles], "body": [a.body for a in articles],
    })
    out = assign_stories(df)
    truth = {a.slug: a.story_key for a in articles}
    found = out.groupby("story_id")["article_id"].apply(frozenset)
    expected = pd.Series(truth).groupby(lambda slug: truth[slug]).apply(lambda s: frozenset(s.index))
    assert set(found) == set(expected)
    originals = set(out.loc[out["is_original"], "article_id"])
    assert originals == {a.slug for a in articles if a.is_original}
