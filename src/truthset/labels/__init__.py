"""Labels: the one place a label row is written (layer 3)."""
