"""Evented state: what the user chose and what was computed. Imports no Qt."""
