"""Command-line entry points (installed as console scripts; ``tools/*.py`` call these)."""
