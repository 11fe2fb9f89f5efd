"""Line- and DOM-level boilerplate rules."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from newsmarkets.news.boilerplate import is_junk_line, postclean, preclean

STORY_LINE = "Shares of the exchange operator rose 3% after it reported record volumes for the quarter."


@pytest.mark.parametrize(
    "line",
    [
        "Source link", "Back to top", "Read more: Why the dollar slipped", "READ MORE » Other story", "See also: X",
        "Share this article", "Share on Facebook", "Advertisement", "© 2026 Example Media", "All rights reserved.",
        "Sign up for our newsletter", "Subscribe", "Follow us on X and LinkedIn",
        "Get the top stories delivered to your inbox every morning.", "Related: Another story",
        "BTC $97,123 +2.1% ETH $3,301.20 -0.4% SOL $201 +5%", "BTC/USDT 97,123.5 (+2.10%) | ETH/USDT 3,301 (−0.40%)",
        "Photo: Getty Images", "This article originally appeared on Example Wire.", "",
    ],
)
def test_junk_lines(line):
    assert is_junk_line(line)


@pytest.mark.parametrize(
    "line",
    [
        STORY_LINE,
        "Read the full statement on the regulator's website, which also lists the firms involved in the review.",
        "Bitcoin rose 2.1% to $97,123 on Monday, while ether gained 0.4% as traders bought the dip.",
        "Subscribers to the fund were told redemptions would be paused until the valuation is complete.",
        "More from the minutes: officials debated whether the labour market had cooled enough to justify a cut "
        "and whether waiting another meeting would risk falling behind events, several members said.",
    ],
)
def test_story_lines_are_kept(line):
    assert not is_junk_line(line)


def test_postclean_drops_headline_repeat_and_duplicates():
    text = f"My headline\n{STORY_LINE}\n{STORY_LINE}\nShare this article\nSecond line of the story here."
    assert postclean(text, "My  Headline") == f"{STORY_LINE}\nSecond line of the story here."


def test_preclean_removes_tagged_blocks_but_never_the_story():
    doc = lxml_html.fromstring(
        "<html><body><div class='page has-sidebar'><div class='share-tools'><a>Tweet it</a></div>"
        f"<div class='content'><p>{STORY_LINE}</p><p>{STORY_LINE} Again.</p>"
        "<div class='x'><h4><a href='/a'>Teaser one headline</a></h4><p>blurb</p></div>"
        "<div class='x'><h4><a href='/b'>Teaser two headline</a></h4><p>blurb</p></div></div>"
        "<div class='box'><p>Join us</p><form><input type='email'></form></div>"
        "<div class='strip'><span>BTC $1 +1%</span><span>ETH $2 -1%</span><span>SOL $3 +2%</span></div>"
        "</div></body></html>"
    )
    removed = preclean(doc)
    text = doc.text_content()
    assert STORY_LINE in text and "Again." in text
    for gone in ("Tweet it", "Teaser one", "Teaser two", "Join us", "BTC $1"):
        assert gone not in text
    assert removed >= 4
