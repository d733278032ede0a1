"""The learning library: threshold choice, active-learning strategies, models, model-
assisted consensus and the auto-labeling loop.

Pure functions and estimators over numpy arrays (layer 1): nothing here sees a session, a
job or a service. The platform's side (`truthset.autolabel`) calls it. See
docs/autolabel.md.
"""

from truthset.learning.consensus import (
    LabelIssues,
    ModelAssistedConsensus,
    find_label_issues,
    majority_vote,
    out_of_sample_proba,
)
from truthset.learning.loop import (
    AutolabelSettings,
    CostEstimate,
    IterationResult,
    ValidationState,
    choose_validation_items,
    error_budget,
    feasible_rule,
    look_confidence_level,
    planned_looks,
    plateau_rule,
    run_iteration,
    should_commit,
    validation_share,
)
from truthset.learning.simulation import (
    SimulationResult,
    replayed_answers,
    simulate_autolabel,
    simulated_workers,
)
from truthset.learning.strategies import (
    STRATEGIES,
    ActiveLabScores,
    activelab_scores,
    k_center_greedy,
    priority_scores,
    select_batch,
)
from truthset.learning.threshold import (
    ConfidenceThreshold,
    ThresholdResult,
    choose_iou_threshold,
    choose_threshold,
    choose_threshold_naive,
    clopper_pearson_lower,
)

__all__ = [
    "STRATEGIES",
    "ActiveLabScores",
    "AutolabelSettings",
    "ConfidenceThreshold",
    "CostEstimate",
    "IterationResult",
    "LabelIssues",
    "ModelAssistedConsensus",
    "SimulationResult",
    "ThresholdResult",
    "ValidationState",
    "activelab_scores",
    "choose_iou_threshold",
    "choose_threshold",
    "choose_threshold_naive",
    "choose_validation_items",
    "clopper_pearson_lower",
    "error_budget",
    "feasible_rule",
    "find_label_issues",
    "k_center_greedy",
    "look_confidence_level",
    "majority_vote",
    "out_of_sample_proba",
    "planned_looks",
    "priority_scores",
    "replayed_answers",
    "plateau_rule",
    "run_iteration",
    "select_batch",
    "should_commit",
    "simulate_autolabel",
    "simulated_workers",
    "validation_share",
]
