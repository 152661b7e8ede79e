"""breachledger test suite: unit (no I/O), integration (real stores), e2e (the CLI), perf."""
