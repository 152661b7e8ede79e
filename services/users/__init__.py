"""Users, roles and credentials: who may do what through the API and the web UI."""
