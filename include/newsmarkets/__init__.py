"""newsmarkets: a media-and-markets warehouse built on Apache Airflow 3."""

__version__ = "0.1.0"
