"""Model soups: the (weighted) average of the weights of models fine-tuned from one base model
(Wortsman et al., 2022, "Model soups"). Runs that differ only in their seed land in one basin of the
loss; their average is usually more accurate than each, most of all on text unlike the training
data, and it costs nothing at inference (one model, unlike an ensemble)."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def average_state_dicts(states: Sequence[dict[str, torch.Tensor]],
                        weights: Sequence[float] | None = None) -> dict[str, torch.Tensor]:
    """The element-wise (weighted) mean of floating-point tensors; other tensors (e.g. position ids) are
    taken from the first state, and must be equal in all.

    ``weights`` (default: equal) are normalised to sum to 1. Two members, a fine-tuned model and the
    same model before fine-tuning, weighted ``alpha`` and ``1 - alpha`` give WiSE-FT (Wortsman et al.,
    2022, "Robust fine-tuning of zero-shot models").

    Raises:
        ValueError: fewer than two states, bad weights, or states with different keys, shapes or fixed buffers.
    """
    if len(states) < 2:
        raise ValueError(f"a soup needs at least two models, got {len(states)}")
    weights = [1.0] * len(states) if weights is None else list(weights)
    if len(weights) != len(states) or min(weights) < 0 or sum(weights) <= 0:
        raise ValueError(f"need one non-negative weight per model, not all zero; got {weights}")
    shares = torch.tensor(weights, dtype=torch.float64) / sum(weights)
    first = states[0]
    for other in states[1:]:
        if other.keys() != first.keys():
            raise ValueError("the models have different parameters: a soup needs one architecture")
        for name, tensor in first.items():
            if other[name].shape != tensor.shape:
                raise ValueError(f"{name}: shape {tuple(other[name].shape)} differs from {tuple(tensor.shape)}")
            if not tensor.is_floating_point() and not torch.equal(other[name], tensor):
                raise ValueError(f"{name}: the models' fixed buffers differ")
    return {name: torch.einsum("m,m...->...", shares, torch.stack([state[name].double() for state in states]))
            .to(tensor.dtype) if tensor.is_floating_point() else tensor.clone() for name, tensor in first.items()}
