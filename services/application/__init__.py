"""The application: the command methods every edge (CLI, HTTP, workers) calls."""
