"""Storage: the databases breachledger keeps its state in (embedded SQLite files, or one
PostgreSQL schema), behind one small interface the stores are written against."""
