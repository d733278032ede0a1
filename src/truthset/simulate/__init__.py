"""Rehearse a job against the real API with simulated workers."""
