"""Results: learners' outcomes on items, and the figures they make per group."""
