"""Saved formations: forming a parent's groups on the database, the history of each save, and undo."""
