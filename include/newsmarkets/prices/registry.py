"""Names of the price providers, kept import-light so config validation stays fast."""

# provider name -> "module:Class" implementing newsmarkets.prices.provider.PriceProvider
PROVIDERS = {
    "coingecko": "newsmarkets.prices.coingecko:CoinGeckoClient",
}
