"""What the DAG files import: Airflow assets and shared task defaults (kept import-light)."""
