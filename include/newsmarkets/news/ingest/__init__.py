"""The ``news_ingest`` DAG's steps: one module per task, each turning an hour of news into the next hand-off.

discover → fetch (one mapped task per source) → extract → deduplicate →
link → validate → publish. Each step is a function ``step(cfg, interval,
run_id, previous)`` that reads the previous step's staged files, stages its
own output in the warehouse and returns small JSON-able metadata (paths,
counts, timings) for XCom; a retried task re-reads exactly what the step
before it left instead of asking the sites again.

=================  ==========================================================
module             what it does
=================  ==========================================================
``discover``       each source's feeds (and sitemaps when the feeds do not
                   reach back) -> the interval's article URLs, staged as
                   ``discovered`` JSON
``fetch``          one source's URLs fetched politely; raw HTML kept
                   (:mod:`newsmarkets.warehouse.rawstore`), results staged as
                   ``fetched`` JSON
``extract``        fetched pages -> article candidates and the failed pages'
                   ``fetch_log`` rows (``extracted`` Parquet); refuses a thin
                   batch
``deduplicate``    duplicates dropped, stories assigned; the ``articles`` and
                   ``fetch_log`` batches staged in the tables' types
``link``           the ``article_assets`` batch, likewise
``validate``       the three batches against their Great Expectations suites
                   (the only step importing GX); ``dq_results`` rows staged,
                   failures quarantined
``publish``        **where an hour of news is published**: the three tables
                   written, ``is_original`` reconciled, dq rows recorded,
                   staged files deleted
``run``            every step of one interval in this process (tests,
                   one-off reruns)
=================  ==========================================================

Shared by the steps, and importing none of them: ``common`` (the error, the
warehouse and the polite fetcher from config, table and step names),
``frames`` (the typed ``fetch_log`` / candidate / ``articles`` frames) and
``originals`` (exactly one ``is_original`` per story across the warehouse,
used by deduplicate and publish). The libraries the steps call (feed and
sitemap parsing, the fetcher, extraction, dedup, linking) are the modules
of :mod:`newsmarkets.news` itself; nothing in this package is imported by
them.
"""
