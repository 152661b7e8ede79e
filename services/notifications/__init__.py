"""Notifications: templated notices to people, authorities and customers, sent once each."""
