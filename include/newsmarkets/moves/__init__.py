"""News to market moves: as-of prices, the benchmark, the event study and significant moves.

Pure modules (``prices``, ``benchmark``, ``event_study``, ``market_moves``,
``recovery``) take frames and arrays and return frames; ``pipeline`` reads the
warehouse partitions one day needs, computes, validates and publishes.
"""

MARKET = "market"  # the asset_id of rows about the benchmark, not one coin
