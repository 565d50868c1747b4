"""Social listening for small businesses: everything behind app.py's wiring."""
