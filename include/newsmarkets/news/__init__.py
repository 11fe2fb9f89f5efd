"""News: discovery, polite fetching, extraction, deduplication and asset linking."""
