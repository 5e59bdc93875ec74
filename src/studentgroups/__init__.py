"""studentgroups: group management for learning platforms."""

__version__ = "0.1.0"
