"""A small Python client for the truthset API."""

from truthset.sdk.client import Client, TruthsetError

__all__ = ["Client", "TruthsetError"]
