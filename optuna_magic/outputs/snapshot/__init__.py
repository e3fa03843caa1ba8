"""The static snapshot of a finished run (HTML without scripts)."""
