"""Tests of the HTTP API through its ASGI interface."""
