"""How faithful explanations are, measured as in ERASER (DeYoung et al., 2020).

For each message the predicted label is explained, and its rationale (the units under the returned
spans) is tested against the model itself:

* *comprehensiveness*: p(label | message) - p(label | message without the rationale); high when the
  rationale carried the decision;
* *sufficiency*: p(label | message) - p(label | rationale alone); low when the rationale suffices.

Both are compared with random rationales of the same number of units from the same message, so a
method is faithful when it beats chance on both (higher comprehensiveness, lower sufficiency).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ticketguard.models.explain import Explainer, Units
from ticketguard.models.labels import LABEL2ID

#: random rationales drawn per message for the baseline
RANDOM_DRAWS = 3
ALL_LANGUAGES = "all"


@dataclass(frozen=True)
class Faithfulness:
    """Mean ERASER scores over ``n`` messages (probabilities are the calibrated ones, as served)."""

    n: int
    units: float
    rationale_units: float
    comprehensiveness: float
    sufficiency: float
    random_comprehensiveness: float
    random_sufficiency: float


@dataclass(frozen=True)
class _Probe:
    lang: str
    units: int
    rationale: int
    scores: np.ndarray  # comprehensiveness, sufficiency, random comprehensiveness, random sufficiency


#: a method under test: (text, label) -> the message's units and the indices of those it chose
Rationale = Callable[[str, str], tuple[Units, list[int]]]


def occlusion_rationale(explainer: Explainer) -> Rationale:
    """The units under the spans :meth:`Explainer.explain` returns."""
    def choose(text: str, label: str) -> tuple[Units, list[int]]:
        units, chosen = explainer.rationales(text, [label])
        return units, sorted({i for run, _ in chosen[label] for i in run})

    return choose


def _probe(explainer: Explainer, choose: Rationale, text: str, label: str, lang: str,
           rng: np.random.Generator) -> _Probe | None:
    units, rationale = choose(text, label)
    if not units.ranges:
        return None
    body = units.normalized.text
    n = len(units.ranges)
    draws = [sorted(rng.choice(n, size=len(rationale), replace=False).tolist()) for _ in range(RANDOM_DRAWS)]
    texts = [body, explainer.without(units, rationale), explainer.only(units, rationale)]
    for draw in draws:
        texts += [explainer.without(units, draw), explainer.only(units, draw)]
    p = explainer.probabilities(texts)[:, LABEL2ID[label]]
    random_without, random_only = p[3::2], p[4::2]
    scores = np.array([p[0] - p[1], p[0] - p[2], float(np.mean(p[0] - random_without)), float(np.mean(p[0] - random_only))])
    return _Probe(lang, n, len(rationale), scores)


def measure_faithfulness(explainer: Explainer, texts: Sequence[str], predicted: Sequence[str],
                         langs: Sequence[str], *, seed: int = 0,
                         rationale: Rationale | None = None) -> dict[str, Faithfulness]:
    """ERASER comprehensiveness and sufficiency of the explanations of ``texts`` for their
    ``predicted`` labels, against random rationales of the same length, per language and over all
    (key ``"all"``).

    Args:
        rationale: the method under test; default: the explainer's own occlusion spans.

    Messages without any explainable unit (symbols only) are skipped.
    """
    choose = rationale or occlusion_rationale(explainer)
    rng = np.random.default_rng(seed)
    by_lang: dict[str, list[_Probe]] = defaultdict(list)
    for text, label, lang in zip(texts, predicted, langs, strict=True):
        probe = _probe(explainer, choose, text, label, lang, rng)
        if probe is not None:
            by_lang[lang].append(probe)
            by_lang[ALL_LANGUAGES].append(probe)
    out = {}
    for lang in sorted(by_lang, key=lambda k: (k == ALL_LANGUAGES, k)):
        probes = by_lang[lang]
        mean = np.mean([p.scores for p in probes], axis=0)
        out[lang] = Faithfulness(n=len(probes), units=round(float(np.mean([p.units for p in probes])), 2),
                                 rationale_units=round(float(np.mean([p.rationale for p in probes])), 2),
                                 comprehensiveness=round(float(mean[0]), 4), sufficiency=round(float(mean[1]), 4),
                                 random_comprehensiveness=round(float(mean[2]), 4),
                                 random_sufficiency=round(float(mean[3]), 4))
    return out
