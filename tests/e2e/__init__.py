"""End-to-end tests driving the console script as a user does."""
