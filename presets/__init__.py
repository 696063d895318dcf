"""The built-in preset catalogue: one directory per preset (see README.md)."""
