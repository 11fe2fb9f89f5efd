"""Alerts: who is told when something breaks.

* :mod:`.message` builds one alert (a flat JSON-safe dict) from an Airflow
  callback context: pure, no I/O.
* :mod:`.webhook` and :mod:`.email` deliver it; :mod:`.deliver` sends it to
  whatever the config's ``alerts:`` section names and never raises.
* :mod:`.notifier` is what DAGs wire in: a ``BaseNotifier`` for task and
  DAG-run failures (and quarantined batches), and the late-snapshot deadline
  callback.

Nothing here reads the config or the network until an alert fires, so DAG
files can attach the notifiers at parse time for free.
"""
