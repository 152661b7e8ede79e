"""The web dashboard: server-rendered pages over the same runtime as the API."""
