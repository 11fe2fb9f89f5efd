"""The embedded default stack: PostgreSQL metadata database, replay world and Airflow on one machine."""
