"""Affected people: importing them, correcting and exporting their data, erasing it."""
