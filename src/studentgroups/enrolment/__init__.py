"""Self-enrolment: learners join, leave and switch groups within a window and a capacity, queue
for full groups, and are placed at the window's close or when they join the module late."""
