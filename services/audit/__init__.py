"""Audit: replay as of any moment, a verifiable record, and the auditor's bundle."""
