"""Reference vocabulary for asset linking: default coins, aliases and ambiguous words.

Kept apart from the matching logic so the lists can grow without touching
:mod:`newsmarkets.news.link`. Ids are CoinGecko ids, the same ones
``prices.assets`` uses, so links join prices directly.
"""

from __future__ import annotations

# id, symbol and name as CoinGecko lists them (names are what the API's
# /coins/markets returns; used when no live coin list is at hand).
DEFAULT_COINS: tuple[dict[str, str], ...] = (
    {"id": "bitcoin", "symbol": "btc", "name": "Bitcoin"},
    {"id": "ethereum", "symbol": "eth", "name": "Ethereum"},
    {"id": "solana", "symbol": "sol", "name": "Solana"},
    {"id": "ripple", "symbol": "xrp", "name": "XRP"},
    {"id": "cardano", "symbol": "ada", "name": "Cardano"},
    {"id": "dogecoin", "symbol": "doge", "name": "Dogecoin"},
    {"id": "chainlink", "symbol": "link", "name": "Chainlink"},
    {"id": "polkadot", "symbol": "dot", "name": "Polkadot"},
    {"id": "near", "symbol": "near", "name": "NEAR Protocol"},
    {"id": "uniswap", "symbol": "uni", "name": "Uniswap"},
    {"id": "the-open-network", "symbol": "ton", "name": "Toncoin"},
    {"id": "sui", "symbol": "sui", "name": "Sui"},
    {"id": "leo-token", "symbol": "leo", "name": "LEO Token"},
    {"id": "harmony", "symbol": "one", "name": "Harmony"},
    {"id": "optimism", "symbol": "op", "name": "Optimism"},
    {"id": "avalanche-2", "symbol": "avax", "name": "Avalanche"},
    {"id": "tron", "symbol": "trx", "name": "TRON"},
    {"id": "litecoin", "symbol": "ltc", "name": "Litecoin"},
    {"id": "bitcoin-cash", "symbol": "bch", "name": "Bitcoin Cash"},
    {"id": "ethereum-classic", "symbol": "etc", "name": "Ethereum Classic"},
    {"id": "stellar", "symbol": "xlm", "name": "Stellar"},
    {"id": "shiba-inu", "symbol": "shib", "name": "Shiba Inu"},
    {"id": "binancecoin", "symbol": "bnb", "name": "BNB"},
    {"id": "tether", "symbol": "usdt", "name": "Tether"},
    {"id": "usd-coin", "symbol": "usdc", "name": "USDC"},
)

# Extra spellings per CoinGecko id, on top of the coin's symbol and name.
DEFAULT_ALIASES: dict[str, tuple[str, ...]] = {
    "bitcoin": ("BTC", "bitcoin", "bitcoin's", "XBT"),
    "ethereum": ("ETH", "ethereum", "ether", "Ether"),
    "solana": ("SOL", "solana"),
    "ripple": ("XRP", "Ripple"),
    "cardano": ("ADA", "cardano"),
    "dogecoin": ("DOGE", "dogecoin"),
    "chainlink": ("LINK", "Chainlink"),
    "polkadot": ("DOT", "Polkadot"),
    "near": ("NEAR", "NEAR Protocol", "Near Protocol"),
    "uniswap": ("UNI", "Uniswap"),
    "the-open-network": ("TON", "Toncoin", "The Open Network"),
    "sui": ("SUI", "Sui"),
    "leo-token": ("LEO", "LEO Token", "UNUS SED LEO"),
    "harmony": ("ONE", "Harmony"),
    "optimism": ("OP", "Optimism"),
    "avalanche-2": ("AVAX", "Avalanche"),
    "tron": ("TRX", "TRON", "Tron"),
    "bitcoin-cash": ("BCH", "Bitcoin Cash"),
    "ethereum-classic": ("ETC", "Ethereum Classic"),
    "shiba-inu": ("SHIB", "Shiba Inu"),
    "binancecoin": ("BNB", "Binance Coin"),
    "tether": ("USDT", "Tether"),
    # MATIC became POL in 2024; news says "Polygon" for the new token (a shared term: the better-ranked coin wins)
    "polygon-ecosystem-token": ("POL", "Polygon", "Polygon Ecosystem Token"),
}

# Terms that are everyday words or common abbreviations; they only count with
# crypto evidence (a cashtag, market context, or the full name) because
# "near the border", "a link to", "one of", "a ton of", "DOGE" (the US
# government department) and "etc." are far more common than the coins.
AMBIGUOUS_TERMS: frozenset[str] = frozenset(
    {
        # symbols
        "near", "link", "op", "dot", "uni", "ton", "leo", "sui", "one", "sun", "flow", "gas", "grt", "ray",
        "core", "ace", "ape", "bat", "cake", "mask", "rose", "hot", "sand", "gala", "rune", "dog", "cat",
        "meme", "people", "trump", "act", "super", "alt", "high", "safe", "id", "magic", "band", "beam",
        "bond", "rain", "ocean", "doge", "ada", "etc", "cro", "ar", "ai", "arb", "key", "pol", "sol",
        "trx", "ltc", "ens", "ctsi", "amp", "ant", "fun", "win", "jst", "hive", "dash", "zen", "storj",
        "ont", "iost", "bico", "gmt", "lpt", "nkn", "rare", "slp", "om", "t", "x", "s", "w", "g", "me",
        "usd", "eur", "gbp", "cfx", "sei", "tia", "wif", "jup", "pyth", "ondo", "ena", "strk", "move",
        # names
        "harmony", "optimism", "avalanche", "ripple", "stellar", "polygon", "tron", "ether", "tether",
        "compound", "helium", "quant", "flare", "sonic", "story", "movement", "mantle", "jupiter", "render",
        "theta", "maker", "graph", "the graph", "internet computer", "shiba inu", "the sandbox",
        "immutable", "cosmos", "stacks", "oasis", "ronin", "gnosis",
        "the open network", "binance coin", "usd coin",
    }
)

# Words near a symbol that say the sentence is about a traded asset.
MARKET_CONTEXT_WORDS: tuple[str, ...] = (
    "price", "prices", "priced", "token", "tokens", "coin", "coins", "crypto", "cryptocurrency",
    "cryptocurrencies", "traded", "trading", "trades", "rally", "rallied", "rallies", "fell", "falls", "rose",
    "rises", "jumped", "surged", "soared", "slid", "slumped", "dropped", "drops", "gained", "climbed",
    "tumbled", "plunged", "sank", "declined", "slipped", "slips", "edged", "retreated", "spiked", "shed",
    "usd", "usdt", "usdc", "market cap", "market capitalization",
    "staking", "holders", "exchange", "exchanges", "listing", "altcoin", "altcoins", "defi", "blockchain",
    "mainnet", "testnet", "protocol", "network", "airdrop", "wallet", "whales",
)

# Any of these anywhere in the article says it is about crypto at all; a war
# report or an election story has none of them, so its ambiguous words never link.
CRYPTO_EVIDENCE_WORDS: tuple[str, ...] = (
    "crypto", "cryptocurrency", "cryptocurrencies", "blockchain", "token", "tokens", "altcoin", "altcoins",
    "stablecoin", "stablecoins", "memecoin", "memecoins", "defi", "web3", "on-chain", "onchain", "staking",
    "airdrop", "nft", "nfts", "mainnet", "layer-2", "layer 2", "smart contract", "smart contracts",
    "digital asset", "digital assets", "satoshi", "satoshis", "crypto exchange", "spot etf",
    "hashrate", "hash rate", "tvl", "dao", "restaking", "proof-of-work", "proof-of-stake", "perpetual futures",
)
