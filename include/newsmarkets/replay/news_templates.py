"""Word lists and sentence templates the replay news world writes its articles from.

All text is generated here from these lists and a seeded ``random.Random``;
nothing is copied from real publications. The non-crypto stories carry the
everyday words ("near", "link", "one", "a ton of") that an asset linker must
not mistake for NEAR, Chainlink, Harmony or Toncoin, and they avoid coin
names that are also English words (optimism, harmony, stellar, avalanche).
"""

from __future__ import annotations

import random

PEOPLE = (
    "Mara Lindqvist", "Tobias Okafor", "Priya Ramanathan", "Jonas Weller", "Elena Castillo",
    "Kenji Arakawa", "Sofia Brennan", "Daniel Mbeki", "Hannah Vogt", "Luis Ferreira",
)
ROLES = ("head of research", "senior trader", "portfolio manager", "market strategist", "derivatives analyst")
FIRMS = (
    "Northgate Capital", "Bluefin Markets", "Arclight Partners", "Meridian Digital", "Quayside Trading",
    "Halvard Asset Management", "Copperleaf Research",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_UP_VERBS = ("jumped", "climbed", "rallied", "surged")
_DOWN_VERBS = ("slid", "dropped", "tumbled", "slumped")


def _pick(rng: random.Random, options):
    return options[rng.randrange(len(options))]


def price_text(price_usd: float) -> str:
    if price_usd >= 100:
        return f"${price_usd:,.0f}"
    if price_usd >= 1:
        return f"${price_usd:,.2f}"
    return f"${price_usd:.8f}".rstrip("0")


def mention(asset: dict) -> str:
    """First mention: the name with the ticker in brackets, as most outlets write it."""
    symbol = asset["symbol"].upper()
    return asset["name"] if asset["name"].upper() == symbol else f"{asset['name']} ({symbol})"


def event_article(rng: random.Random, assets: list[dict], prices: list[float], hint: str, is_positive: bool,
                  is_market: bool, weekday: str) -> tuple[str, list[str]]:
    """(title, paragraphs) for the report that breaks an event."""
    lead, lead_price = assets[0], prices[0]
    sym = lead["symbol"].upper()
    verb = _pick(rng, _UP_VERBS if is_positive else _DOWN_VERBS)
    person, role, firm = _pick(rng, PEOPLE), _pick(rng, ROLES), _pick(rng, FIRMS)
    if is_market and len(assets) >= 2:  # a one-asset world has no second coin to name
        title = f"Crypto market braces as {hint}; {lead['name']} and {assets[1]['name']} in focus"
        first = (
            f"Digital assets moved together on {weekday} as traders digested news that the {hint}. "
            f"{mention(lead)} was quoted at {price_text(lead_price)} and {mention(assets[1])} at "
            f"{price_text(prices[1])} as the headline crossed trading desks."
        )
        spread = ", ".join(mention(a) for a in assets[2:]) or "the larger altcoins"
        second = (
            f"Analysts expected the move to spread well beyond the two largest tokens, with {spread} "
            f"typically tracking the benchmark coins closely when a macro headline hits the tape."
        )
    else:
        title = f"{lead['name']} ({sym}) {verb} as {hint}"
        others = "".join(f" Attention also turned to {mention(a)}, which was trading at {price_text(p)}." for a, p in zip(assets[1:], prices[1:]))
        first = (
            f"{mention(lead)} {verb} on {weekday} after reports that the {hint}. The token was changing "
            f"hands at {price_text(lead_price)} shortly before the news spread across exchanges.{others}"
        )
        second = (
            f"Volume in ${sym} picked up across the largest venues, with order books thinning on the "
            f"{'offer' if is_positive else 'bid'} side as desks repositioned and liquidations rippled through perpetual futures."
        )
    quote = _pick(rng, (
        "Nobody had this on their calendar, so the first reaction is pure positioning",
        "The headline matters more than the details for the next few hours",
        "We are watching funding rates and spot flows before adding risk",
        "Moves like this tend to overshoot before the market finds its footing",
    ))
    third = f"\"{quote},\" said {person}, {role} at {firm}, in a note to clients. {_pick(rng, _CONTEXT)}"
    fourth = _pick(rng, _OUTLOOK).format(name=lead["name"], sym=sym)
    return title, [first, second, third, fourth]


_CONTEXT = (
    "Open interest in futures tied to the token had been building for several sessions, leaving the market sensitive to any surprise.",
    "Stablecoin inflows to exchanges had risen over the past week, a sign that traders were preparing to deploy capital.",
    "On-chain data showed large wallets moving coins to exchanges in the hours before the report.",
    "The wider crypto market had traded in a narrow range for most of the week before the headline arrived.",
)
_OUTLOOK = (
    "Market participants said the next test for {name} would be whether the move holds through the close of the Asian session, when liquidity typically thins and volatility in {sym} tends to rise.",
    "Some desks cautioned that a single headline rarely sets a trend on its own, and said they would wait for follow-through in spot volumes before taking a firm view on {name}.",
    "Options markets priced a wider range of outcomes for {sym} over the coming week, with implied volatility rising across most expiries as traders bought protection.",
)


def asset_background(rng: random.Random, assets: list[dict], prices: list[float], weekday: str) -> tuple[str, list[str]]:
    """A routine market note that mentions assets without any event behind it."""
    lead = assets[0]
    sym = lead["symbol"].upper()
    title = _pick(rng, (
        f"{lead['name']} price analysis: {sym} holds its range",
        f"What traders are watching in {lead['name']} this week",
        f"{lead['name']} ({sym}) steadies as volumes fade",
    ))
    extra = "".join(f" {mention(a)} changed hands at {price_text(p)}." for a, p in zip(assets[1:], prices[1:]))
    paragraphs = [
        f"{mention(lead)} traded in a tight band on {weekday}, hovering around {price_text(prices[0])} as the "
        f"crypto market looked for direction after a busy start to the month.{extra}",
        f"Technical analysts pointed to support levels set over the previous fortnight, noting that ${sym} "
        f"has bounced from the same zone several times while trading volumes steadily declined.",
        _pick(rng, _CONTEXT) + " Funding rates on perpetual swaps stayed close to neutral, suggesting little appetite for leverage.",
        f"\"This is a wait-and-see tape,\" said {_pick(rng, PEOPLE)}, {_pick(rng, ROLES)} at {_pick(rng, FIRMS)}. "
        f"\"Until we get a catalyst, range trading in {lead['name']} is the path of least resistance.\"",
    ]
    return title, paragraphs


TOWNS = ("Velmora", "Karst Ridge", "Dunholt", "Saravan", "Orlec", "Tessin Vale")
COUNTRIES = ("Valdoria", "Estmark", "Corvania", "Lusatia Minor", "Barrowland")


def general_story(rng: random.Random, topic: str, weekday: str) -> tuple[str, list[str]]:
    """A non-crypto story (war, election, rates) that names no coin but uses everyday trap words."""
    town, country, person = _pick(rng, TOWNS), _pick(rng, COUNTRIES), _pick(rng, PEOPLE)
    if topic == "war":
        title = f"Fighting flares near {town} as talks stall in {country}"
        paragraphs = [
            f"Heavy fighting was reported near the town of {town} on {weekday}, one day after negotiators "
            f"left the capital of {country} without agreement on a ceasefire.",
            f"Officials said shelling had cut the main rail link to the south, and one of the two bridges "
            f"over the river was closed to civilian traffic while engineers inspected the damage.",
            f"Aid groups said they had moved a ton of medical supplies into the region overnight, but "
            f"warned that access remained difficult near the front line and that more convoys were needed.",
            f"\"Every day without a deal costs lives,\" said {person}, a spokesperson for one of the relief "
            f"agencies, adding that the organisation would publish a link to its field reports later in the week.",
        ]
    elif topic == "election":
        title = f"{country} election race tightens as polls show near dead heat"
        paragraphs = [
            f"Voters in {country} head to the polls next month with the two main parties in a near dead "
            f"heat, according to surveys published on {weekday}.",
            f"One campaign official said turnout in rural districts would decide the outcome, and both "
            f"parties have spent a ton of money on advertising in towns such as {town}.",
            f"Analysts drew a link between rising living costs and the shift in support, noting that one "
            f"in four voters named household bills as their most important issue.",
            f"\"It is going to come down to the last week,\" said {person}, a political scientist who has "
            f"followed the race since the candidates were nominated near the end of last year.",
        ]
    elif topic == "rates":
        title = f"Central bank of {country} holds rates, signals one more hike is possible"
        paragraphs = [
            f"The central bank of {country} kept its benchmark interest rate unchanged on {weekday}, but "
            f"said one more increase remained possible if inflation stays near its recent highs.",
            f"Policymakers pointed to the link between wage growth and services prices, and said a ton of "
            f"uncertainty remained about energy costs over the winter months.",
            f"Bond yields edged higher after the decision, with the two-year note trading near its highest "
            f"level in one month as investors priced a slightly firmer path for policy.",
            f"\"The committee is not in a hurry,\" said {person}, chief economist at {_pick(rng, FIRMS)}. "
            f"\"They want one or two more inflation prints before they commit either way.\"",
        ]
    else:
        raise ValueError(f"topic: unknown general topic {topic!r} (known: war, election, rates)")
    return title, paragraphs


GENERAL_TOPICS = ("war", "election", "rates")
TRAP_WORDS = ("near", "link", "one", "a ton of")

# The line each syndicating outlet puts above a wire story.
SYNDICATION_INTROS = {
    "coinwire": "This story was originally published by Global Wire and is republished here with permission.",
    "ledgerpost": "Ledger Post carries this report from its wire partner Global Wire; it has not been edited.",
    "marketdesk": "From the Global Wire newsroom, as distributed to Market Desk subscribers this morning.",
}
