"""The warehouse: table schemas, the one partitioned Parquet writer, and the DuckDB catalog."""
