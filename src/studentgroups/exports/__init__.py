"""What goes back to the LMS: groupings, rosters and results as rows, in our columns and in the
column layouts other systems import. Statements and layouts only: the API streams them, the CLI
writes them to a file."""
