"""Triage: category, urgency and the reasons behind them.

Rules (``rules.py``) decide emergencies and child-welfare cases with high recall; a trained
model (TF-IDF on character and word n-grams → logistic regression) decides among the other
categories, nudged by the rules' hints. The model ships as package data
(``data/triage_model.joblib``, built by ``stemme triage train``); if it is missing or was
built by another scikit-learn version it is trained at first use from the shipped examples
(``data/triage_train.jsonl``).

Triage reads the *redacted* text: personal data never reaches the model, the training
examples and operator corrections (stored redacted by the inbox) look the same as live
input, and the redaction tags (``<PERSON>``, ``<PHONE_1>``) are folded to one token per type.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from stemme.errors import InvalidInputError
from stemme.understanding.rules import RuleResult, apply_rules

CATEGORIES: tuple[str, ...] = (
    "emergency",
    "concern_for_child",
    "crime_report",
    "tip",
    "question",
    "feedback",
    "other",
)
MODEL_FILE = "triage_model.joblib"
TRAIN_FILES = ("triage_train.jsonl", "triage_train_extra.jsonl", "triage_train_more.jsonl")
HINT_BOOST = 0.3
NEGLECT_BOOST = 0.45
MODEL_URGENT_THRESHOLD = 0.45

_TAG_RE = re.compile(r"<([A-Z_]+?)(?:_\d+)?>")


class InvalidLabelsError(InvalidInputError):
    """A labels file has a line that is not a valid training example."""


@dataclass(frozen=True, slots=True)
class Example:
    """One training example."""

    text: str
    category: str
    urgent: bool


@dataclass(frozen=True, slots=True)
class TriageResult:
    """Category, urgency, the reasons (shown to the operator) and per-category scores."""

    category: str
    urgent: bool
    reasons: tuple[str, ...]
    scores: dict[str, float] = field(default_factory=dict)


def normalise(text: str) -> str:
    """The text the model sees: redaction tags folded to one token per type."""
    return _TAG_RE.sub(lambda m: f" x{m.group(1).lower()}x ", text)


# --- training data ----------------------------------------------------------------------------


def parse_examples(lines: Iterable[str], source: str = "labels") -> list[Example]:
    """Examples from JSON Lines with text, category and (optional) urgent."""
    examples: list[Example] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidLabelsError(
                "%(source)s, linje %(line)s: ugyldig JSON (%(error)s)",
                source=source,
                line=number,
                error=exc.msg,
            ) from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise InvalidLabelsError(
                "%(source)s, linje %(line)s: mangler tekst", source=source, line=number
            )
        category = row.get("category")
        if category not in CATEGORIES:
            raise InvalidLabelsError(
                "%(source)s, linje %(line)s: ukjent kategori %(category)s",
                source=source,
                line=number,
                category=str(category),
            )
        urgent = bool(row.get("urgent", category == "emergency"))
        examples.append(Example(row["text"], str(category), urgent))
    return examples


def shipped_examples() -> list[Example]:
    """The hand-written training examples shipped with the package."""
    examples: list[Example] = []
    for name in TRAIN_FILES:
        text = (files("stemme.understanding") / "data" / name).read_text(encoding="utf-8")
        examples += parse_examples(text.splitlines(), name)
    return examples


def load_examples(path: Path) -> list[Example]:
    """Examples from a labels file (operator corrections)."""
    return parse_examples(path.read_text(encoding="utf-8").splitlines(), str(path))


# --- model ------------------------------------------------------------------------------------


def build_features() -> Any:
    """Untrained features: TF-IDF of char_wb 2–4-grams and of word 1–2-grams, side by side."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
    from sklearn.pipeline import FeatureUnion  # type: ignore[import-untyped]

    chars = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, max_features=60000
    )
    words = TfidfVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        sublinear_tf=True,
        token_pattern=r"(?u)\b\w+\b",  # noqa: S106 - not a password
    )
    return FeatureUnion([("chars", chars), ("words", words)])


def build_classifier() -> Any:
    """An untrained classifier (logistic regression: probabilities without extra calibration)."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    return LogisticRegression(C=8.0, max_iter=2000, class_weight="balanced")


def build_pipeline() -> Any:
    """Features → classifier, for cross-validation."""
    from sklearn.pipeline import Pipeline

    return Pipeline([("features", build_features()), ("classifier", build_classifier())])


@dataclass(frozen=True, slots=True)
class TriageModel:
    """Fitted features and two classifiers on them: the category and the urgent flag."""

    features: Any
    category: Any
    urgent: Any


def train(examples: Sequence[Example]) -> TriageModel:
    """Fit the features once and both classifiers on them."""
    features = build_features()
    matrix = features.fit_transform([normalise(e.text) for e in examples])
    category = build_classifier().fit(matrix, [e.category for e in examples])
    urgent = build_classifier().fit(matrix, [e.urgent for e in examples])
    return TriageModel(features, category, urgent)


_WORD_CACHE_LIMIT = 100_000
_INDEX = "int32"  # numpy dtype of feature indices (the vocabularies hold well under 2**31)


def _fast_kind(vectorizer: Any) -> str | None:
    """ "char_wb" or "word" when ``vectorizer`` analyses text the plain way, else None.

    The plain way: lower-case content, no accent stripping, no custom preprocessor,
    tokenizer, analyzer callable or stop words. Only then does the Scorer's own n-gram code
    reproduce ``build_analyzer()`` exactly; anything else uses scikit-learn's analyzer.
    """
    plain = (
        vectorizer.input == "content"
        and vectorizer.lowercase
        and vectorizer.strip_accents is None
        and vectorizer.preprocessor is None
    )
    if plain and vectorizer.analyzer == "char_wb":
        return "char_wb"
    simple = vectorizer.tokenizer is None and vectorizer.stop_words is None
    if plain and simple and vectorizer.analyzer == "word":
        return "word"
    return None


class _Part:
    """One fitted TF-IDF vectorizer: text → feature indices of its n-grams, in order.

    The indices are the vocabulary's plus ``offset`` (the part's place among all features),
    in the order in which scikit-learn's analyzer yields the n-grams. char_wb n-grams never
    cross a word, so each word's indices are computed once and kept (as an array: a text's
    indices are then its words' arrays, joined by numpy for a whole batch at once).
    """

    def __init__(self, vectorizer: Any, offset: int) -> None:
        import numpy as np

        self._np = np
        self.vocabulary: dict[str, int] = {
            gram: int(index) + offset for gram, index in vectorizer.vocabulary_.items()
        }
        self.offset = offset
        self.idf = vectorizer.idf_
        self.min_n, self.max_n = (int(n) for n in vectorizer.ngram_range)
        self.kind = _fast_kind(vectorizer)
        self.analyzer = vectorizer.build_analyzer()
        self.token_re = re.compile(vectorizer.token_pattern) if self.kind == "word" else None
        self._words: dict[str, Any] = {}

    def arrays(self, text: str, lowered: str) -> list[Any]:
        """The vocabulary index of each n-gram of ``text`` (``lowered`` = text.lower()), as
        integer arrays to be read one after the other."""
        if self.kind == "char_wb":
            # scikit-learn first folds white-space runs to one space; split() ignores them anyway
            return list(map(self._word, lowered.split()))
        get = self.vocabulary.get
        grams = self._word_ngrams(lowered) if self.kind == "word" else self.analyzer(text)
        return [self._np.array([i for i in map(get, grams) if i is not None], dtype=_INDEX)]

    def _word(self, word: str) -> Any:
        found = self._words.get(word)
        if found is None:
            if len(self._words) >= _WORD_CACHE_LIMIT:
                self._words.clear()
            get = self.vocabulary.get
            grams = map(get, self._char_wb_ngrams(word))
            found = self._np.array([i for i in grams if i is not None], dtype=_INDEX)
            self._words[word] = found
        return found

    def _char_wb_ngrams(self, word: str) -> list[str]:
        """scikit-learn's ``_char_wb_ngrams`` for one word (same n-grams, same order)."""
        w = " " + word + " "
        w_len = len(w)
        grams: list[str] = []
        for n in range(self.min_n, self.max_n + 1):
            offset = 0
            grams.append(w[offset : offset + n])
            while offset + n < w_len:
                offset += 1
                grams.append(w[offset : offset + n])
            if offset == 0:  # a short word (w_len < n) counts only once
                break
        return grams

    def _word_ngrams(self, lowered: str) -> list[str]:
        """scikit-learn's ``_word_ngrams`` (no stop words) of the tokens of ``lowered``."""
        assert self.token_re is not None
        tokens: list[str] = self.token_re.findall(lowered)
        min_n, max_n = self.min_n, self.max_n
        if max_n == 1:
            return tokens
        original = tokens
        if min_n == 1:
            tokens = list(original)
            min_n += 1
        else:
            tokens = []
        count = len(original)
        for n in range(min_n, min(max_n + 1, count + 1)):
            # zip stops at the shortest tail: the n-grams in the order of their first words
            tails = [original[k:] for k in range(n)]
            tokens.extend(map(" ".join, zip(*tails, strict=False)))
        return tokens


class Scorer:
    """Fast inference for a TriageModel, one message or a batch of them.

    scikit-learn's per-call overhead (input validation, sparse matrix assembly, two
    pipelines) costs several milliseconds per message; the arithmetic is a few hundred
    multiply-adds. This does the same computation directly: the fitted analyzers, vocabularies
    and idf weights give the L2-normalised sublinear TF-IDF vector of each part, and the
    logistic regressions' coefficients give softmax (category) and sigmoid (urgent) outputs.
    ``tests/understanding/test_triage.py`` checks it against scikit-learn's own predict_proba.
    All texts of a batch, and both parts' features, go through numpy together (each numpy
    call costs microseconds, whatever its size), the softmax and sigmoid included.
    """

    def __init__(self, trained: TriageModel) -> None:
        import numpy as np

        self._np = np
        self.model = trained
        self._parts: list[_Part] = []
        offset = 0
        for _, vectorizer in trained.features.transformer_list:
            part = _Part(vectorizer, offset)
            self._parts.append(part)
            offset += len(part.vocabulary)
        idf = np.concatenate([part.idf for part in self._parts])
        self._part_starts = np.array([part.offset for part in self._parts])
        self.classes = [str(c) for c in trained.category.classes_]
        coef = np.asarray(trained.category.coef_)
        urgent_classes = [bool(c) for c in trained.urgent.classes_]
        self._urgent_sign = 1.0 if urgent_classes[-1] else -1.0
        urgent_coef = np.asarray(trained.urgent.coef_)[0]
        # One row per feature: both classifiers' coefficients (all category decisions and the
        # urgent one in one sparse-times-dense product).
        self._coef = np.ascontiguousarray(np.vstack([coef, urgent_coef[None, :]]).T)
        self._idf = np.ascontiguousarray(idf, dtype=np.float64)
        self._intercepts = np.append(
            np.asarray(trained.category.intercept_, dtype=np.float64),
            float(np.asarray(trained.urgent.intercept_)[0]),
        )

    def _features(self, texts: Sequence[str]) -> Any:
        """The TF-IDF vectors of ``texts``: a sparse matrix, one row per text.

        Every n-gram's feature index goes into one array for the whole batch; scipy then
        counts the repeats (summing duplicate entries of a CSR matrix, in C) instead of a
        Counter per text.
        """
        from scipy.sparse import csr_matrix  # type: ignore[import-untyped]

        np = self._np
        pieces: list[Any] = []
        lengths: list[int] = []
        for text in texts:
            lowered = text.lower()
            arrays = [array for part in self._parts for array in part.arrays(text, lowered)]
            pieces += arrays
            lengths.append(sum(map(len, arrays)))
        rows = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=rows[1:])
        flat = np.concatenate(pieces) if pieces else np.zeros(0, dtype=_INDEX)
        shape = (len(texts), len(self._idf))
        matrix = csr_matrix((np.ones(len(flat)), flat, rows), shape=shape)
        matrix.sum_duplicates()  # each row's distinct features, with their counts
        weights = np.log(matrix.data)
        weights += 1.0
        weights *= self._idf[matrix.indices]
        # each part's block of each text is L2-normalised on its own
        parts = len(self._parts)
        text_of = np.repeat(np.arange(len(texts)), np.diff(matrix.indptr))
        part_of = np.searchsorted(self._part_starts, matrix.indices, side="right") - 1
        blocks = text_of * parts + part_of
        norms = np.sqrt(np.bincount(blocks, weights * weights, minlength=len(texts) * parts))
        weights /= norms[blocks]
        matrix.data = weights
        return matrix

    def scores(self, text: str) -> tuple[dict[str, float], float]:
        """Category probabilities and the probability that the message is urgent."""
        return self.scores_many([text])[0]

    def scores_many(self, texts: Sequence[str]) -> list[tuple[dict[str, float], float]]:
        """:meth:`scores` of each text, with one pass of numpy calls for all of them."""
        np = self._np
        # sparse times dense: no copy of each feature's coefficients is made on the way
        decisions = self._features([normalise(t) for t in texts]) @ self._coef
        decisions += self._intercepts
        category = decisions[:, :-1]
        if len(self.classes) == 2:  # binary logistic regression: one column  # pragma: no cover
            positive = 1.0 / (1.0 + np.exp(-category[:, 0]))
            probabilities = np.column_stack([1.0 - positive, positive])
        else:  # softmax, shifted by each row's largest decision
            probabilities = np.exp(category - category.max(axis=1, keepdims=True))
            probabilities /= probabilities.sum(axis=1, keepdims=True)
        urgent = 1.0 / (1.0 + np.exp(-self._urgent_sign * decisions[:, -1]))
        classes, results = self.classes, []
        for row, urgent_p in zip(probabilities.tolist(), urgent.tolist(), strict=True):
            scores = dict.fromkeys(CATEGORIES, 0.0)
            scores.update(zip(classes, row, strict=True))
            results.append((scores, urgent_p))
        return results


def cross_validated_macro_f1(examples: Sequence[Example], folds: int = 5) -> float:
    """Macro-F1 of stratified k-fold cross-validation on ``examples``."""
    from sklearn.model_selection import (  # type: ignore[import-untyped]
        StratifiedKFold,
        cross_val_score,
    )

    labels = [e.category for e in examples]
    smallest = min(labels.count(c) for c in set(labels))
    folds = max(2, min(folds, smallest))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    scores = cross_val_score(
        build_pipeline(),
        [normalise(e.text) for e in examples],
        labels,
        cv=splitter,
        scoring="f1_macro",
    )
    return float(scores.mean())


def default_model_path() -> Path:
    """Where the shipped model lives (inside the installed package)."""
    return Path(str(files("stemme.understanding") / "data" / MODEL_FILE))


def save_model(trained: TriageModel, path: Path) -> None:
    """Store a trained model with the scikit-learn version that built it."""
    import joblib  # type: ignore[import-untyped]
    import sklearn  # type: ignore[import-untyped]

    path.parent.mkdir(parents=True, exist_ok=True)
    stored = {
        "sklearn": sklearn.__version__,
        "features": trained.features,
        "category": trained.category,
        "urgent": trained.urgent,
    }
    joblib.dump(stored, path)


def _load_model(path: Path) -> TriageModel | None:
    """The model stored at ``path``, or None if absent or from another sklearn version."""
    import joblib
    import sklearn

    if not path.is_file():
        return None
    stored = joblib.load(path)  # our own package data, written by save_model
    if not isinstance(stored, dict) or stored.get("sklearn") != sklearn.__version__:
        return None
    return TriageModel(stored["features"], stored["category"], stored["urgent"])


_model_lock = threading.Lock()


@cache
def model() -> Scorer:
    """The triage model: the shipped file, else trained now from the shipped examples."""
    with _model_lock:
        loaded = _load_model(default_model_path())
        return Scorer(loaded if loaded is not None else train(shipped_examples()))


# --- decision ---------------------------------------------------------------------------------


def _rules_only_scores(text: str) -> dict[str, float]:
    """Without a model: a weak prior (question if it asks, else other)."""
    scores = dict.fromkeys(CATEGORIES, 0.0)
    scores["question" if "?" in text else "other"] = 0.2
    return scores


def decide(rules: RuleResult, scores: dict[str, float], urgent_p: float = 0.0) -> TriageResult:
    """Combine rule findings, category scores and the model's urgency probability."""
    scores = dict(scores)
    reasons: list[str] = []
    if rules.is_emergency:
        reasons.extend(hit.reason() for hit in rules.emergency)
        return TriageResult("emergency", True, tuple(reasons), _rounded(scores))
    model_urgent = urgent_p >= MODEL_URGENT_THRESHOLD and not rules.resolved
    reasons.extend(hit.reason() for hit in rules.threats)
    if rules.is_child_concern and (rules.child_serious or scores["concern_for_child"] > 0.15):
        reasons.extend(hit.reason() for hit in rules.child)
        if rules.child_serious:
            reasons.append("alvorlig risiko for barnet")
        elif model_urgent:
            reasons.append(f"modellen: mulig hastesak ({urgent_p:.2f})")
        urgent = rules.child_serious or model_urgent or bool(rules.threats)
        return TriageResult("concern_for_child", urgent, tuple(reasons), _rounded(scores))
    if rules.is_child_concern:
        scores["concern_for_child"] += NEGLECT_BOOST
        reasons.extend(hit.reason() for hit in rules.child)
    for category, hits in rules.hints.items():
        scores[category] += HINT_BOOST
        reasons.extend(hit.reason() for hit in hits)
    category = max(CATEGORIES, key=scores.__getitem__)
    # Urgency is not only for emergencies: a threat for tonight or a wanted person seen
    # now is an urgent crime report or tip (FORMAT.md), so the model's flag counts for all.
    urgent = (
        category == "emergency"
        or model_urgent
        or (category == "concern_for_child" and rules.child_serious)
    )
    if urgent:
        reasons.append(f"modellen: mulig hastesak ({urgent_p:.2f})")
    urgent = urgent or bool(rules.threats)
    reasons.append(f"kategori: {category} ({scores[category]:.2f})")
    return TriageResult(category, urgent, tuple(reasons), _rounded(scores))


def _rounded(scores: dict[str, float]) -> dict[str, float]:
    return {c: round(v, 4) for c, v in scores.items()}


def triage(text: str, use_model: bool = True, lang: str | None = None) -> TriageResult:
    """Category, urgency and reasons for one (redacted) message in language ``lang``."""
    return triage_many([text], [lang], use_model)[0]


def triage_many(
    texts: Sequence[str], langs: Sequence[str | None], use_model: bool = True
) -> list[TriageResult]:
    """:func:`triage` of each text (``langs``: the language of each), the model's numpy work
    done once for all of them."""
    rules = [apply_rules(text, lang) for text, lang in zip(texts, langs, strict=True)]
    if use_model:
        scored = model().scores_many(texts)
    else:
        scored = [(_rules_only_scores(text), 0.0) for text in texts]
    return [decide(r, s, urgent_p) for r, (s, urgent_p) in zip(rules, scored, strict=True)]
