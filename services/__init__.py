"""Everything that acts on the domain: the application, its capabilities and their edges."""
