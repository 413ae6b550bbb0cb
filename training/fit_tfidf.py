"""The baseline: character n-gram TF-IDF + logistic regression, saved in the artifact format."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import joblib
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from ticketguard.models.backends import TFIDF_FILE
from ticketguard.models.classifier import normalize_text
from ticketguard.models.labels import LABELS
from ticketguard.training.config import TrainConfig
from ticketguard.training.corpus import CorpusRow


def fit_tfidf(config: TrainConfig, train_rows: Sequence[CorpusRow], out_dir: Path) -> Pipeline:
    """Fit the baseline on the train split and save it as ``tfidf.joblib`` in ``out_dir``.

    The classes are fitted in schema order so ``predict_proba`` columns match ``LABELS``.
    """
    pipeline = Pipeline(
        [
            ("tfidf", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, config.tfidf_ngram_max),
                                      sublinear_tf=True, min_df=2, lowercase=True, max_features=300_000)),
            ("clf", LogisticRegression(C=config.tfidf_c, max_iter=2000,
                                       class_weight="balanced" if config.class_balanced else None)),
        ]
    )
    texts = [normalize_text(r.text) for r in train_rows]
    pipeline.fit(texts, [LABELS.index(r.label) for r in train_rows])
    if list(pipeline.classes_) != list(range(len(LABELS))):
        raise ValueError("the training split must contain every label")
    out_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, out_dir / TFIDF_FILE)
    return pipeline
