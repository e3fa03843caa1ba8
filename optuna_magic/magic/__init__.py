"""IPython only: the magics, their options, line commands, the kernel's cell transformer."""
