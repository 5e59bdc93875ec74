"""The audit log: every committed write, who made it, what it was, and when."""
