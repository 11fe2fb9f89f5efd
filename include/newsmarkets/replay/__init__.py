"""The replay world: a deterministic, generated market (and later news) served over real HTTP."""
