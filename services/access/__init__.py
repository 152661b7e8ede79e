"""Who may do what, for every face alike: the permission table, and the names the system
keeps for its own actors."""
