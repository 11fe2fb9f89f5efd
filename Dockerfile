# The production image: the official Airflow image plus this project's pinned
# dependencies, the newsmarkets package, the DAGs and the plugins.
# The tag must match the apache-airflow pin in requirements.txt
# (tests/unit/test_compose_file.py checks it).
FROM apache/airflow:3.3.2-python3.11

# pip runs as the airflow user, as the official image expects. Naming the
# image's own Airflow version next to the requirements makes pip fail instead
# of silently replacing Airflow if a pin ever disagrees with the base image.
COPY --chown=airflow:0 requirements.txt /tmp/newsmarkets/requirements.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /tmp/newsmarkets/requirements.txt

# The package is installed (not mounted): DAG files import it from site-packages.
# --no-deps because requirements.txt already pinned everything it needs.
COPY --chown=airflow:0 pyproject.toml /tmp/newsmarkets/src/pyproject.toml
COPY --chown=airflow:0 include/ /tmp/newsmarkets/src/include/
RUN pip install --no-cache-dir --no-deps /tmp/newsmarkets/src \
    && rm -rf /tmp/newsmarkets \
    && python -c "import importlib.metadata as m, os, newsmarkets; \
v = m.version('apache-airflow'); assert v == os.environ['AIRFLOW_VERSION'], f'airflow {v} != image {os.environ[\"AIRFLOW_VERSION\"]}'"

# The stack's config at a fixed path (NEWSMARKETS_CONFIG in docker-compose.yaml);
# mount another file over it to change assets or sources without a rebuild.
COPY --chown=airflow:0 include/newsmarkets/config/compose.yaml /opt/airflow/newsmarkets/config.yaml
COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
