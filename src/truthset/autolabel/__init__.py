"""Automated labeling inside jobs: settings, features, the machine-label queue and runs
(the platform side of `truthset.learning`)."""
