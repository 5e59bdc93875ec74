"""The console for course staff, in the browser: signing in (`service`), and its pages (`router`)."""
