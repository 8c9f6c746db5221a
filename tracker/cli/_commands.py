"""Imports every command module so that each registers itself on the group."""

# One line per command module; keep sorted.
