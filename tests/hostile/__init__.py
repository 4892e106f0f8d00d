"""Hostile and careless inputs, fault injection: every command keeps its contract (issue 9)."""
