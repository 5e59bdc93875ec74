"""1EdTech OneRoster 1.2: a student information system's classes, people and enrollments, imported."""
