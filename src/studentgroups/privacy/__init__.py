"""Data-subject requests: everything held about one student (export), and their erasure."""
