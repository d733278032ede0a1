"""Transcriptions: ROVER-style word voting (Fiscus, 1997) with skill weights.

Hypotheses (worker transcripts split on whitespace) are taken by decreasing weight; the
first is the initial word transition network: a row of slots, each slot holding the
words (or the null arc, ``None``) that hypotheses put there with their summed weight.
Each further hypothesis is aligned to the network by edit distance (a word matches a
slot at cost 0 when the slot already holds it, else substitutes at cost 1; skipping a
slot costs 0 when the slot already holds a null arc, else 1; a word with no slot is
inserted as a new slot at cost 1, where every earlier hypothesis gets a null arc).

Each slot's winner is the word (or null) with the most weight; ties go to the choice of
the higher-weighted hypothesis. Word confidence = the winner's share of the weight;
transcript confidence = mean of the slots' winner shares (null-won slots included, so
that disagreement about extra words lowers it). With a single worker every confidence
is 0.0, as Ground Truth does for single-worker labels.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._common import Consolidator, require_answers, worker_ids_of, worker_order, worker_weights

TEXT_KEYS = ("transcription", "transcript", "text", "utterance")


def transcript_text(answer: Any) -> str:
    """The text of a transcription answer: a string or an object with a text field."""
    if isinstance(answer, str):
        return answer
    if isinstance(answer, Mapping):
        for key in TEXT_KEYS:
            if key in answer and isinstance(answer[key], str):
                return answer[key]
        if "answerContent" in answer:
            return transcript_text(answer["answerContent"])
        if len(answer) == 1:
            return transcript_text(next(iter(answer.values())))
        raise ValueError(f"answer: no text field among {TEXT_KEYS} (keys: {sorted(answer)})")
    raise ValueError(f"answer: expected text or an object, got {type(answer).__name__}")


class _Slot:
    __slots__ = ("votes", "forms")

    def __init__(self) -> None:
        self.votes: dict[str | None, float] = {}
        self.forms: dict[str, dict[str, float]] = {}

    def add(self, key: str | None, form: str | None, weight: float) -> None:
        self.votes[key] = self.votes.get(key, 0.0) + weight
        if key is not None and form is not None:
            f = self.forms.setdefault(key, {})
            f[form] = f.get(form, 0.0) + weight


def align(slots: Sequence[_Slot], keys: Sequence[str]) -> list[tuple[int | None, int | None]]:
    """Edit-distance alignment of words to slots: pairs (slot or None, word or None)."""
    n, m = len(slots), len(keys)
    # Plain lists, not a numpy matrix: the cells are filled one at a time, and numpy's
    # per-element indexing made this the cost of consolidating transcripts (5x slower).
    # Costs are sums of 0s and 1s, so they compare exactly.
    skips = [0.0 if None in s.votes else 1.0 for s in slots]
    cost = [[0.0] * (m + 1) for _ in range(n + 1)]
    cost[0] = [float(j) for j in range(m + 1)]
    for i in range(1, n + 1):
        cost[i][0] = cost[i - 1][0] + skips[i - 1]
    for i in range(1, n + 1):
        votes = slots[i - 1].votes
        skip = skips[i - 1]
        prev, cur = cost[i - 1], cost[i]
        for j in range(1, m + 1):
            sub = 0.0 if keys[j - 1] in votes else 1.0
            cur[j] = min(prev[j - 1] + sub, prev[j] + skip, cur[j - 1] + 1.0)
    pairs: list[tuple[int | None, int | None]] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0:
            sub = 0.0 if keys[j - 1] in slots[i - 1].votes else 1.0
            if cost[i][j] == cost[i - 1][j - 1] + sub:
                pairs.append((i - 1, j - 1))
                i, j = i - 1, j - 1
                continue
        if i > 0 and cost[i][j] == cost[i - 1][j] + skips[i - 1]:
            pairs.append((i - 1, None))
            i -= 1
        else:
            pairs.append((None, j - 1))
            j -= 1
    pairs.reverse()
    return pairs


class TranscriptionConsolidator(Consolidator):
    """ROVER word voting over several workers' transcripts of one item.

    Parameters: ``case_sensitive`` (False: words compare lower-cased),
    ``ignore_punctuation`` (False: when True, leading/trailing punctuation is ignored
    when comparing words). The output keeps the most-weighted written form.

    ``fit(answers)``: each answer a string or ``{"transcription"|"text"|...: str}``.

    Fitted: ``label_`` = ``{"transcription": str}``, ``metadata_`` = ``{"confidence",
    "words": [{"word", "confidence"}]}``, ``words_``, ``word_confidences_``,
    ``confidence_``, ``slots_`` (per slot: ``{word or None: weight}``).
    """

    def __init__(self, *, case_sensitive: bool = False, ignore_punctuation: bool = False) -> None:
        self.case_sensitive = case_sensitive
        self.ignore_punctuation = ignore_punctuation

    def _key(self, word: str) -> str:
        key = word if self.case_sensitive else word.lower()
        if self.ignore_punctuation:
            key = key.strip(string.punctuation) or key
        return key

    def fit(
        self,
        answers: Sequence[Any],
        worker_ids: Sequence[str] | None = None,
        skills: Mapping[str, float] | None = None,
    ) -> TranscriptionConsolidator:
        require_answers(answers)
        ids = worker_ids_of(answers, worker_ids)
        weights = worker_weights(ids, skills)
        texts = [transcript_text(a) for a in answers]
        slots: list[_Slot] = []
        done = 0.0  # weight of the hypotheses already in the network
        for h in worker_order(weights):
            words = texts[h].split()
            keys = [self._key(w) for w in words]
            wt = float(weights[h])
            new: list[_Slot] = []
            for s, j in align(slots, keys):
                if s is None:
                    slot = _Slot()
                    if done > 0:
                        slot.add(None, None, done)
                    assert j is not None
                    slot.add(keys[j], words[j], wt)
                    new.append(slot)
                elif j is None:
                    slots[s].add(None, None, wt)
                    new.append(slots[s])
                else:
                    slots[s].add(keys[j], words[j], wt)
                    new.append(slots[s])
            slots = new
            done += wt

        total = float(weights.sum())
        out_words, out_conf, shares = [], [], []
        for slot in slots:
            best_key, best = None, -1.0
            for key, v in slot.votes.items():  # insertion order = hypothesis rank: first wins ties
                if v > best + 1e-12:
                    best_key, best = key, v
            shares.append(best / total)
            if best_key is not None:
                forms = slot.forms[best_key]
                out_words.append(max(forms, key=lambda f: forms[f]))
                out_conf.append(best / total)
        single = len(answers) == 1
        self.words_ = out_words
        self.word_confidences_ = (
            np.zeros(len(out_words)) if single else np.array(out_conf, dtype=float)
        )
        if single:
            self.confidence_ = 0.0
        else:  # several workers who all left it blank agree fully
            self.confidence_ = float(np.mean(shares)) if shares else 1.0
        self.slots_ = [dict(s.votes) for s in slots]
        self.label_ = {"transcription": " ".join(out_words)}
        self.metadata_ = {
            "confidence": round(self.confidence_, 4),
            "words": [
                {"word": w, "confidence": round(float(c), 4)}
                for w, c in zip(out_words, self.word_confidences_, strict=True)
            ],
        }
        return self
