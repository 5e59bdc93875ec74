"""Group formation as pure functions: no database, no I/O; plain data in, an assignment out.

`random_assignment` is the seeded shuffle Randomise has always used. `form_groups` is the
formation engine: random or balanced, under hard rules (pins, keep-together, keep-apart,
capacities, sizes within one), noIsolation and top-up, with a quality report.
`groups_needed` and `group_names` create groups as Moodle and Canvas do.
"""

from studentgroups.grouping.engine import assess, form_groups, pictures
from studentgroups.grouping.model import (
    DEFAULT_MINORITY_SHARE,
    CategoricalQuality,
    Constraints,
    Formation,
    FormationRequest,
    GroupPicture,
    Infeasible,
    Member,
    MemberColumns,
    NumericQuality,
    QualityReport,
    spread_weight_of,
)
from studentgroups.grouping.random import Assignment, Target, new_seed, plan_sizes, random_assignment
from studentgroups.grouping.sizing import group_names, groups_needed

__all__ = [
    "DEFAULT_MINORITY_SHARE",
    "Assignment",
    "CategoricalQuality",
    "Constraints",
    "Formation",
    "FormationRequest",
    "GroupPicture",
    "Infeasible",
    "Member",
    "MemberColumns",
    "NumericQuality",
    "QualityReport",
    "Target",
    "assess",
    "form_groups",
    "group_names",
    "groups_needed",
    "new_seed",
    "pictures",
    "plan_sizes",
    "random_assignment",
    "spread_weight_of",
]
