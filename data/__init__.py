"""The labelled corpus and the evaluation-only splits, shipped inside the package (``ticketguard.data``)."""

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
#: train/dev/test rows, one JSONL file per language
CORPUS_DIR = DATA_DIR / "corpus"
#: the independent challenge split (evaluation only; never trained on, selected or calibrated on)
CHALLENGE_DIR = DATA_DIR / "challenge"
#: public-register split: posts, comments, reviews and chat turns in all five labels (evaluation only, like
#: the challenge split; its rows carry ``split: challenge``)
PUBLIC_DIR = DATA_DIR / "public"
#: registers split: public posts, chat and messenger turns and e-mails in all five labels, by writers new to
#: the project (evaluation only, ``split: challenge``)
REGISTERS_DIR = DATA_DIR / "registers"
#: length bounds of a corpus row's text, in characters (checked by ``ticketguard data check``)
TEXT_MIN_CHARS, TEXT_MAX_CHARS = 2, 4000
