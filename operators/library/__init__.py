"""Operators discovered by operators.registry: one module per operator family."""
