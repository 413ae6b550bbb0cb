"""The baseline: character n-gram TF-IDF + logistic regression, fitted in memory."""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from ticketguard.models.artifact import Calibration, Manifest
from ticketguard.models.backends import TfidfBackend
from ticketguard.models.classifier import Classifier
from ticketguard.models.labels import LABELS
from ticketguard.training.config import TrainConfig
from ticketguard.training.corpus import CorpusRow


def fit_tfidf(config: TrainConfig, train_rows: Sequence[CorpusRow], manifest: Manifest) -> Classifier:
    """Fit the baseline on the train split; the returned classifier is uncalibrated.

    Texts go through the Classifier's own preparation; the classes are fitted in schema order so
    ``predict_proba`` columns match ``LABELS``.
    """
    pipeline = Pipeline(
        [
            ("tfidf", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, config.tfidf_ngram_max),
                                      sublinear_tf=True, min_df=2, lowercase=True, max_features=300_000)),
            ("clf", LogisticRegression(C=config.tfidf_c, max_iter=2000,
                                       class_weight="balanced" if config.class_balanced else None)),
        ]
    )
    classifier = Classifier(TfidfBackend(pipeline), manifest, list(LABELS), Calibration())
    pipeline.fit([classifier.prepare(r.text) for r in train_rows], [LABELS.index(r.label) for r in train_rows])
    if list(pipeline.classes_) != list(range(len(LABELS))):
        raise ValueError("the training split must contain every label")
    return classifier
