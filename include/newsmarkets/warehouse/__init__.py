"""The warehouse: table schemas, Delta Lake tables behind one API (``writer.Warehouse``), and the DuckDB catalog."""
