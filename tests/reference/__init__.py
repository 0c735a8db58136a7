"""Independent reference implementations (plain SQL in DuckDB) that the tests compare against."""
