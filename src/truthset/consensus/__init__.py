"""The consensus library: many answers -> one label with a confidence, and agreement.

Pure algorithms on numpy / scipy (layer 1) following scikit-learn's conventions:
classification aggregators (`aggregation/`), consolidation of spatial and sequence answers
(`spatial/`) and agreement metrics (`agreement`). Nothing here sees a session, a job or a
service; `truthset.quality` and the task types call it.
"""
