"""``auto``: choose a consolidation method per dataset by how well it predicts answers it
has not seen, with or without gold.

Without gold: every candidate's truth estimate is scored by the held-out log-likelihood
of the answers (``selection``: cross-validation over answers) under the answer model,
among all candidates', that predicts them best with it (``selection.profile``;
``criterion="joint"`` scores each with its own answer model only); the best-scoring
candidate whose solution keeps the meaning of every class (:func:`keeps_class_meaning`)
is chosen.
Likelihood alone cannot tell which latent class is "cat": a model can fit the answers
well with a class turned into a cluster of other tasks, so that check is a constraint on
the answer, not a preference. Vote-based methods (``VOTE_BASED``) label a task with a
label its workers gave and are not checked. With gold: ``auto`` moves away from the
no-gold choice only when a candidate is better on the gold items by a paired sign test.
Confidences: a model-based choice reports its own posterior; a vote (whose shares are not
probabilities of being right: they do not grow with the number of agreeing answers)
reports the posterior of its label under the answer model that best predicts the held-out
answers from the vote's truth estimate (the profiled one, among models that keep their
classes' meaning), and that model's posterior also breaks the vote's ties. Either is then
calibrated by one temperature (``calibration``). See docs/quality-aggregation.md.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from truthset.consensus.aggregation.base import BaseAggregator, check_answers
from truthset.consensus.aggregation.bcc import BCC
from truthset.consensus.aggregation.calibration import (
    expected_calibration_error,
    temperature_from_answers,
    temperature_from_gold,
    tempered,
)
from truthset.consensus.aggregation.checks import keeps_class_meaning
from truthset.consensus.aggregation.dawid_skene import DawidSkene
from truthset.consensus.aggregation.encoding import AnswerMatrix, FloatArray, IntArray
from truthset.consensus.aggregation.glad import GLAD
from truthset.consensus.aggregation.gt_mds import GroundTruthMDS
from truthset.consensus.aggregation.mace import MACE
from truthset.consensus.aggregation.majority_vote import MajorityVote
from truthset.consensus.aggregation.one_coin import OneCoinDawidSkene
from truthset.consensus.aggregation.selection import (
    HeldOut,
    Profiled,
    fold_assignment,
    folds_to_run,
    held_out,
    log_likelihood_with,
    paired_std_error,
    profile,
)
from truthset.consensus.aggregation.wawa import Wawa
from truthset.consensus.aggregation.zero_based_skill import ZeroBasedSkill

CANDIDATES: dict[str, Callable[[int], BaseAggregator]] = {
    "ds": lambda seed: DawidSkene(random_state=seed),
    "bcc": lambda seed: BCC(random_state=seed),
    "mace": lambda seed: MACE(random_state=seed),
    "onecoin": lambda seed: OneCoinDawidSkene(random_state=seed),
    "glad": lambda seed: GLAD(random_state=seed),
    "gt-mds": lambda seed: GroundTruthMDS(random_state=seed),
    "zbs": lambda seed: ZeroBasedSkill(random_state=seed),
    "wawa": lambda seed: Wawa(random_state=seed),
    "mv": lambda seed: MajorityVote(random_state=seed),
}
VOTE_BASED = frozenset({"mv", "wawa", "zbs"})


def n_parameters(name: str, answers: AnswerMatrix) -> int:
    """Free parameters of a candidate's answer model on these answers (W workers and T
    tasks that have answers, K classes): what the one-standard-error rule calls simpler."""
    w = int(np.count_nonzero(answers.answers_per_worker))
    t = int(np.count_nonzero(answers.answers_per_task))
    k = answers.n_classes
    per_worker = {"mv": 0, "wawa": 1, "zbs": 1, "onecoin": 1, "glad": 1, "mace": k}
    return w * per_worker.get(name, k * (k - 1)) + (t if name == "glad" else 0)


CRITERIA = ("profile", "joint")

Report = dict[str, dict[str, float | bool | str | None]]


class AutoAggregator(BaseAggregator):
    """Choose among ``CANDIDATES``; fitted ``method_``, ``estimator_``, ``report_``
    (per candidate: ``held_out_log_likelihood``, the criterion's value, with
    ``answer_model`` the candidate whose answer model gave it; ``own_log_likelihood``
    with its own answer model; ``std_error`` of its difference to the best,
    ``keeps_class_meaning``, ``gold_accuracy``), ``criterion_`` (folds, answers scored),
    ``confidence_model_`` (the candidate whose posterior gives the confidences: the
    chosen one, or for a vote its profiled answer model), ``temperature_`` and
    ``calibration_``. ``labels_`` are the chosen method's (a vote's ties broken by the
    confidence model); ``posteriors_`` the confidence model's, calibrated, so that a
    task's confidence is ``posteriors_[task, labels_[task]]``, which for a vote can be
    below another class's.

    ``fit(answers, gold_tasks=None, gold_labels=None)``: gold as task and class codes.
    ``n_folds``: folds of the answers; only as many are fitted as needed to score
    ``max_scored`` answers. ``calibrate=False`` keeps the chosen method's posteriors.
    ``criterion``: ``"profile"`` (each truth estimate with the best answer model) or
    ``"joint"`` (each with its own; the rule of issue 16's first session).
    """

    def __init__(
        self,
        *,
        candidates: tuple[str, ...] | None = None,
        n_folds: int = 5,
        max_scored: int = 100_000,
        calibrate: bool = True,
        switch_z: float = 2.0,
        criterion: str = "profile",
        tie_se: float = 1.0,
        random_state: int = 0,
    ) -> None:
        self.criterion = criterion
        self.tie_se = tie_se
        self.candidates = candidates
        self.n_folds = n_folds
        self.max_scored = max_scored
        self.calibrate = calibrate
        self.switch_z = switch_z
        self.random_state = random_state

    def fit(
        self,
        answers: AnswerMatrix,
        gold_tasks: IntArray | None = None,
        gold_labels: IntArray | None = None,
    ) -> AutoAggregator:
        check_answers(answers)
        names = list(self.candidates or CANDIDATES)
        unknown = [n for n in names if n not in CANDIDATES]
        if unknown:
            raise ValueError(f"unknown method {unknown[0]!r}; choose from {sorted(CANDIDATES)}")
        if self.n_folds < 2:
            raise ValueError(f"n_folds must be at least 2, got {self.n_folds}")
        if self.criterion not in CRITERIA:
            raise ValueError(f"unknown criterion {self.criterion!r}; choose from {list(CRITERIA)}")
        fitted: dict[str, BaseAggregator] = {}

        def get(name: str) -> BaseAggregator:
            if name not in fitted:
                fitted[name] = CANDIDATES[name](self.random_state).fit(answers)
            return fitted[name]

        n_run = folds_to_run(answers.n_answers, self.n_folds, self.max_scored)
        joint = self._held_out_scores(answers, names, n_run)
        scores = (
            profile(joint)
            if self.criterion == "profile"
            else {n: Profiled(n, joint[n]) for n in names}
        )
        report: Report = {}
        best = max(names, key=lambda n: scores[n].mean)
        for name in names:
            got = scores[name].scores.log_likelihood
            scored = got.size > 0
            report[name] = {
                "held_out_log_likelihood": round(scores[name].mean, 5) if scored else None,
                "answer_model": scores[name].answer_model if scored else None,
                "own_log_likelihood": round(joint[name].mean, 5) if scored else None,
                "std_error": round(
                    paired_std_error(scores[best].scores.log_likelihood, got),
                    5,
                )
                if name != best and scored
                else (0.0 if scored else None),
                "keeps_class_meaning": None,
            }
        choice = self._choose_without_gold(answers, names, scores, get, report)
        self.no_gold_choice_ = choice
        has_gold = gold_tasks is not None and gold_labels is not None and len(gold_tasks) > 0
        if has_gold:
            assert gold_tasks is not None and gold_labels is not None
            choice = self._choose_with_gold(
                choice, names, get, np.asarray(gold_tasks), np.asarray(gold_labels), report
            )
        self.method_ = choice
        self.estimator_ = get(choice)
        self.confidence_model_ = self._confidence_model(
            choice, names, joint, lambda n: _admissible(n, answers, get, report)
        )
        confidence = get(self.confidence_model_)
        self.labels_ = self._labels(confidence)
        self.report_ = report
        self.criterion_ = {
            "name": "held-out answer log-likelihood",
            "answer_models": "best per truth estimate" if self.criterion == "profile" else "own",
            "folds": self.n_folds,
            "folds_fitted": n_run,
            "answers_scored": int(scores[choice].scores.log_likelihood.shape[0]),
        }
        # The temperature is learnt with the confidence model's own answer model: its
        # posterior is coherent with that model (with the profiled one, the GLAD family's
        # temperatures over-shot: ECE 0.05 against 0.03).
        self._calibrate(
            confidence.posteriors_, joint[self.confidence_model_], gold_tasks, gold_labels, has_gold
        )
        self.explanation_ = self._explain()
        self.skills_ = self.estimator_.skills_
        self.worker_answer_counts_ = answers.answers_per_worker.copy()
        return self

    def _held_out_scores(
        self, answers: AnswerMatrix, names: list[str], n_run: int
    ) -> dict[str, HeldOut]:
        folds = fold_assignment(answers.n_answers, self.n_folds, self.random_state)
        return {
            name: held_out(
                lambda name=name: CANDIDATES[name](self.random_state),  # type: ignore[misc]
                answers,
                folds,
                n_run,
            )
            for name in names
        }

    def _choose_without_gold(
        self,
        answers: AnswerMatrix,
        names: list[str],
        scores: dict[str, Profiled],
        get: Callable[[str], BaseAggregator],
        report: Report,
    ) -> str:
        """The simplest solution that keeps its classes' meaning among those within
        ``tie_se`` standard errors of the best-scoring one that does."""
        if all(scores[n].scores.log_likelihood.size == 0 for n in names):
            # Too few answers to hold any out (one answer): nothing to compare, so the
            # plainest reading of the answers.
            return "mv" if "mv" in names else names[0]

        def admissible(name: str) -> bool:
            return _admissible(name, answers, get, report)

        ranked = sorted(names, key=lambda n: -scores[n].mean)
        top = next((n for n in ranked if admissible(n)), None)
        if top is None:
            # Every model-based candidate relabelled a class and no vote was a candidate.
            return ranked[0]
        best = scores[top].scores.log_likelihood
        size = {n: n_parameters(n, answers) for n in names}
        tied = []
        for name in ranked:
            got = scores[name].scores.log_likelihood
            if got.size != best.size or name == top:
                continue
            gap = float(np.mean(best - got))
            if gap <= self.tie_se * paired_std_error(best, got):
                tied.append(name)
        # The one-standard-error rule: a difference the held-out answers cannot resolve
        # does not justify more parameters (they only over-fit sparse workers).
        for name in sorted(tied, key=lambda n: size[n]):
            if size[name] < size[top] and admissible(name):
                report[name]["within_tie_of"] = top
                return name
        return top

    def _confidence_model(
        self,
        choice: str,
        names: list[str],
        joint: dict[str, HeldOut],
        admissible: Callable[[str], bool],
    ) -> str:
        """The candidate whose posterior gives the confidences: the chosen one when it is a
        model; for a vote, the model-based answer model that predicts the held-out answers
        best from the vote's fold truth estimates (the profile of its truth estimate, among
        the models that keep their classes' meaning; the vote itself when there is none)."""
        own = joint[choice]
        if choice not in VOTE_BASED or own.log_likelihood.size == 0:
            return choice
        ranked = sorted(
            (
                (float(log_likelihood_with(own, joint[r]).mean()), r)
                for r in names
                if r not in VOTE_BASED and joint[r].log_likelihood.size == own.log_likelihood.size
            ),
            reverse=True,
        )
        return next((r for _, r in ranked if admissible(r)), choice)

    def _labels(self, confidence: BaseAggregator) -> IntArray:
        """The chosen method's labels; where a vote ties, the tied label the confidence
        model finds most probable (a tie in votes is resolved by who voted), not a coin."""
        labels = self.estimator_.labels_
        if confidence is self.estimator_:
            return labels
        votes = self.estimator_.posteriors_
        top = np.isclose(votes, votes.max(axis=1, keepdims=True), rtol=1e-12, atol=1e-12)
        tied = top.sum(axis=1) > 1
        if not tied.any():
            return labels
        labels = labels.copy()
        labels[tied] = np.where(top[tied], confidence.posteriors_[tied], -1.0).argmax(axis=1)
        return labels

    def _choose_with_gold(
        self,
        default: str,
        names: list[str],
        get: Callable[[str], BaseAggregator],
        gold_tasks: IntArray,
        gold_labels: IntArray,
        report: Report,
    ) -> str:
        right = {n: get(n).labels_[gold_tasks] == gold_labels for n in {*names, default}}
        for name, hits in right.items():
            report.setdefault(name, {})["gold_accuracy"] = float(hits.mean())
        best, best_accuracy = default, float(right[default].mean())
        for name in names:
            only_new = int(np.sum(right[name] & ~right[default]))
            only_default = int(np.sum(right[default] & ~right[name]))
            discordant = only_new + only_default
            significant = only_new - only_default > self.switch_z * np.sqrt(max(discordant, 1))
            if significant and right[name].mean() > best_accuracy:
                best, best_accuracy = name, float(right[name].mean())
        return best

    def _calibrate(
        self,
        raw: FloatArray,
        score: HeldOut,
        gold_tasks: IntArray | None,
        gold_labels: IntArray | None,
        has_gold: bool,
    ) -> None:
        source = "none"
        temperature = 1.0
        if self.calibrate and raw.shape[1] > 1:
            if has_gold:
                assert gold_tasks is not None and gold_labels is not None
                temperature = temperature_from_gold(raw, gold_tasks, gold_labels)
                source = "gold" if temperature != 1.0 else source
            if source == "none":
                temperature = temperature_from_answers(score.posteriors, score.likelihoods)
                source = "held-out answers"
        self.temperature_ = temperature
        self.posteriors_ = tempered(raw, temperature)
        # p^(1/T) is monotone in p: every task keeps its label (and its ties).
        calibration: dict[str, float | str | int | None] = {
            "confidence_model": self.confidence_model_,
            "temperature": round(temperature, 4),
            "source": source,
        }
        if has_gold:
            assert gold_tasks is not None and gold_labels is not None
            labels = self.labels_[gold_tasks]
            right = labels == gold_labels
            scored = [("raw", raw), ("calibrated", self.posteriors_)]
            if self.confidence_model_ != self.method_:
                scored.insert(0, ("method", self.estimator_.posteriors_))
            for key, post in scored:
                calibration[f"ece_{key}"] = round(
                    expected_calibration_error(post[gold_tasks, labels], right), 4
                )
            calibration["gold_tasks"] = len(gold_tasks)
        self.calibration_ = calibration

    def _explain(self) -> str:
        """One sentence: why ``method_``, in the criterion's own figures."""
        report, chosen, base = self.report_, self.method_, self.no_gold_choice_

        def score_of(name: str) -> float:
            value = report[name]["held_out_log_likelihood"]
            return float("-inf") if value is None else float(value)

        ranked = sorted(report, key=score_of, reverse=True)
        rejected = [n for n in ranked if report[n]["keeps_class_meaning"] is False]
        score = report[base]["held_out_log_likelihood"]
        if score is None:
            return f"{base}: too few answers to hold any out, so the plainest reading."
        model = report[base].get("answer_model")
        with_model = f", with {model}'s answer model" if model not in (None, base) else ""
        tie = report[base].get("within_tie_of")
        if tie is not None:
            text = (
                f"{base} is the simplest model within {self.tie_se:g} standard error of the "
                f"best, {tie} ({score} against {report[str(tie)]['held_out_log_likelihood']} "
                f"log-likelihood per held-out answer{with_model})"
            )
        else:
            text = (
                f"{base} predicts held-out answers best ({score} log-likelihood per answer"
                + with_model
                + (
                    f"; next {ranked[1]} {report[ranked[1]]['held_out_log_likelihood']}"
                    if len(ranked) > 1 and ranked[0] == base
                    else ""
                )
                + ")"
            )
        if rejected:
            text += (
                f" among solutions that keep their classes' meaning ({', '.join(rejected)} "
                "scored higher but relabel a class)"
            )
        if self.confidence_model_ != chosen:
            text += (
                f"; its confidences are the posterior of its label under "
                f"{self.confidence_model_}, whose answer model predicts the held-out answers "
                f"best from {chosen}'s truth estimate among the models that keep their "
                "classes' meaning"
            )
        if chosen != base:
            text += (
                f"; on the gold items {chosen} is right significantly more often "
                f"({report[chosen]['gold_accuracy']:.3f} vs {report[base]['gold_accuracy']:.3f}, "
                f"sign test at z = {self.switch_z:g}), so it replaces {base}"
            )
        return text + "."

    def _fit(self, answers: AnswerMatrix) -> None:  # pragma: no cover - fit is overridden
        raise NotImplementedError

    def answer_model(self, answers: AnswerMatrix) -> FloatArray:
        return self.estimator_.answer_model(answers)


def _admissible(
    name: str, answers: AnswerMatrix, get: Callable[[str], BaseAggregator], report: Report
) -> bool:
    """Votes always; a model when its solution keeps every class's meaning (checked once,
    recorded in the report)."""
    if name in VOTE_BASED:
        return True
    if report[name]["keeps_class_meaning"] is None:
        report[name]["keeps_class_meaning"] = keeps_class_meaning(answers, get(name).posteriors_)
    return bool(report[name]["keeps_class_meaning"])
