"""Airflow imports this module at start-up in every process (the plugins folder is on sys.path).

It only preloads heavy task libraries into the processes that fork task
runners; see :mod:`newsmarkets.orchestration.preload` for why.
"""

from newsmarkets.orchestration.preload import preload

preload()
