"""Pre- and post-annotation hooks with Ground Truth's Lambda contracts (an HTTP URL or a
Python handler file), and outbound events (webhooks) for job states and labeled items."""
