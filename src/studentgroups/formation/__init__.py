"""Group formation as pure functions: no database, no I/O; plain data in, an assignment out."""

from studentgroups.formation.random import Assignment, Target, new_seed, plan_sizes, random_assignment

__all__ = ["Assignment", "Target", "new_seed", "plan_sizes", "random_assignment"]
