"""The hostname a Celery worker reports for its task instances (``[core] hostname_callable``).

Workers of the distributed topology share one machine in tests; each gets its
own name in ``NEWSMARKETS_WORKER_HOSTNAME`` so ``task_instance.hostname`` tells
them apart, as separate machines' names would. Unset, it is the machine's FQDN
(Airflow's default).
"""

import os
import socket


def worker_hostname() -> str:
    return os.environ.get("NEWSMARKETS_WORKER_HOSTNAME") or socket.getfqdn()
