"""Cell text to a checked search space and an objective (and back to a script).

No IPython, no Study.
"""
