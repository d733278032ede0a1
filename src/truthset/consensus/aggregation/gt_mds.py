"""Ground Truth's "modified Dawid-Skene" (MDS), as AWS published it.

Reference: the ``MulticlassDawidSkeneEM`` class of AWS's notebook
``ground_truth_labeling_jobs/annotation_consolidation/ACSBlogPost.ipynb`` (blog post "Use the
wisdom of crowds with Amazon SageMaker Ground Truth to annotate data more accurately",
2019). The modification is the shrinkage in the M-step: each worker's confusion counts
get ``n_j * Sym(acc_j) + n_j / 2 * Sym(all_worker_prior)`` added before row-normalising,
which keeps workers with few answers close to their own and the crowd's accuracy.
"""

from __future__ import annotations

import numpy as np

from truthset.consensus.aggregation.base import (
    BaseAggregator,
    as_worker_matrices,
    confusion_counts,
    e_step,
    symmetric_confusion,
)
from truthset.consensus.aggregation.encoding import AnswerMatrix, FloatArray


class GroundTruthMDS(BaseAggregator):
    """Modified Dawid-Skene with Ground Truth's constants.

    1. Posteriors start uniform; confusion matrices start as ``Sym(initial_accuracy)``.
    2. E-step: prior = mean posterior; posterior ∝ prior * prod_j C_j[t, l_ij].
    3. M-step: expected counts, ``acc_j = trace / n_j``, add the shrinkage, row-normalise.
    4. ``all_worker_prior`` becomes the mean worker accuracy after each epoch.
    5. Stop after ``max_iter`` epochs or when the relative log-likelihood change < ``tol``.
    6. Confidence = round(max posterior, 2) (``confidences_``).

    ``init_confusion_matrices`` (W, K, K; NaN rows = unknown) carries worker parameters
    over from earlier batches, as Ground Truth's production version does.
    """

    def __init__(
        self,
        *,
        max_iter: int = 20,
        tol: float = 1e-8,
        initial_accuracy: float = 0.7,
        init_confusion_matrices: FloatArray | None = None,
        random_state: int = 0,
    ) -> None:
        self.max_iter = max_iter
        self.tol = tol
        self.initial_accuracy = initial_accuracy
        self.init_confusion_matrices = init_confusion_matrices
        self.random_state = random_state

    def _fit(self, answers: AnswerMatrix) -> None:
        k = answers.n_classes
        n_workers = answers.n_workers
        confusion = as_worker_matrices(
            self.init_confusion_matrices,
            n_workers,
            k,
            symmetric_confusion(self.initial_accuracy, k),
        )
        all_worker_prior = float(self.initial_accuracy)
        posteriors = np.full((answers.n_tasks, k), 1.0 / k)
        n_j = answers.answers_per_worker
        log_lik_old = None
        accuracy = np.full(n_workers, all_worker_prior)
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            self.n_iter_ += 1
            prior = posteriors.sum(axis=0)
            prior = prior / prior.sum()
            with np.errstate(divide="ignore"):
                log_confusion = np.log(confusion)
                log_prior = np.log(prior)
            posteriors, log_lik = e_step(answers, log_confusion, log_prior)
            counts = confusion_counts(answers, posteriors)
            accuracy = np.trace(counts, axis1=1, axis2=2) / np.maximum(n_j, 1)
            counts = (
                counts
                + n_j[:, None, None] * symmetric_confusion(accuracy, k)
                + (n_j[:, None, None] / 2.0) * symmetric_confusion(all_worker_prior, k)
            )
            row_sums = counts.sum(axis=2, keepdims=True)
            confusion = np.where(row_sums > 0, counts / np.where(row_sums > 0, row_sums, 1), 1 / k)
            all_worker_prior = float(np.mean(accuracy[n_j > 0]))
            if log_lik_old is not None and abs(log_lik - log_lik_old) < self.tol * abs(log_lik_old):
                break
            log_lik_old = log_lik
        self.confusion_matrices_ = confusion
        self.all_worker_prior_ = all_worker_prior
        self.posteriors_ = posteriors
        self.log_likelihood_ = log_lik
        self.labels_ = np.asarray(np.argmax(posteriors, axis=1), dtype=np.int64)
        self.confidences_ = np.round(posteriors.max(axis=1), 2)
        self.skills_ = accuracy

    def answer_model(self, answers: AnswerMatrix) -> FloatArray:
        known = self._known_workers(answers.workers)
        default = symmetric_confusion(self.all_worker_prior_, answers.n_classes)
        rows = np.broadcast_to(default, (answers.n_answers, *default.shape)).copy()
        rows[known] = self.confusion_matrices_[answers.workers[known]]
        return rows
