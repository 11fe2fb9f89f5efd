"""News: discovery, polite fetching, extraction, deduplication and asset linking.

The modules here are the libraries; the ``news_ingest`` DAG's steps that
call them (one module per task, ``publish`` being where an hour of news is
published) are in :mod:`newsmarkets.news.ingest`. :mod:`newsmarkets.news.rawstore`
keeps raw HTML and the steps' hand-off files; :mod:`newsmarkets.news.one_page`
extracts a single page for the CLI.
"""
