"""Maths on numpy arrays. Imports neither Qt nor transformers."""
