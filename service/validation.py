"""The bounds every request value is checked against before it reaches the database.

One owner for each rule, shared by the request schemas, the routes and the OpenAPI document, so
the spec promises exactly what the server accepts and SQLite and PostgreSQL see the same values:

- ids fit the database's ``INTEGER`` (PostgreSQL's is 32-bit; SQLite's would take more);
- timestamps are RFC 3339 with an offset, in years :data:`MIN_YEAR` to :data:`MAX_YEAR`
  (so converting them to UTC can never leave Python's or the database's date range);
- NUL (``\\u0000``), which PostgreSQL cannot store in text: removed from free message text (a
  stray NUL in a customer's message must not lose the message), refused in identifiers, names
  and filters (removing it could make two ids equal);
- JSON bodies nest at most :data:`MAX_JSON_DEPTH` levels, checked on the raw bytes before parsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import numpy as np
from pydantic import AfterValidator, BeforeValidator, Field, GetJsonSchemaHandler, StringConstraints, WithJsonSchema
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from ticketguard.models.languages import LANG_TAG, MAX_TAG_CHARS

#: the largest id of a message or feedback row (PostgreSQL ``INTEGER``)
MAX_DB_ID = 2**31 - 1
#: the range of years a timestamp in a request may have
MIN_YEAR, MAX_YEAR = 1970, 2999
#: JSON nesting deeper than this is refused before parsing (our own payloads nest 8 levels at most)
MAX_JSON_DEPTH = 32
NUL = "\x00"
#: identifiers, names and filters: no NUL (JSON Schema pattern, applied by the server through :func:`storable`)
NO_NUL_PATTERN = "^[^\\u0000]*$"
#: RFC 3339 ``date-time`` (as JSON Schema's format) whose year is in ``MIN_YEAR..MAX_YEAR``
TIMESTAMP_PATTERN = (r"^(?:19[7-9][0-9]|2[0-9]{3})-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
                     r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$")
_TIMESTAMP = re.compile(TIMESTAMP_PATTERN)
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class SchemaPattern:
    """Puts ``pattern`` into a field's JSON Schema while a validator of our own applies the rule,
    so a refusal says what is wrong in words instead of quoting a regular expression."""

    pattern: str

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["pattern"] = self.pattern
        return schema


def storable(value: str) -> str:
    """``value`` unchanged when both databases can store it as it is.

    Raises:
        ValueError: it holds a NUL or an unpaired surrogate.
    """
    if NUL in value:
        raise ValueError("must not contain NUL (\\u0000) characters")
    if _SURROGATE.search(value):
        raise ValueError("must not contain unpaired surrogate code points")
    return value


def lang_tag(value: str) -> str:
    """``value`` unchanged when it is a language tag (:data:`~models.languages.LANG_TAG`)."""
    if not LANG_TAG.search(value):
        raise ValueError(f"must be a language tag like 'en' or 'zh-Hant', got {value[:40]!r}")
    return value


def remove_nul(text: str) -> str:
    """Free text with its NUL characters removed (they carry nothing and PostgreSQL refuses them)."""
    return text.replace(NUL, "")


def parse_timestamp(value: Any) -> Any:
    """An aware ``datetime`` from an RFC 3339 string with an offset in the allowed years.

    Anything else (a unix number, a date without a time or offset, a year out of range) is
    refused with the accepted form in the message.
    """
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _TIMESTAMP.search(value):
        raise ValueError(f"expected an RFC 3339 date-time with an offset, like 2026-11-30T08:00:00Z, "
                         f"in the years {MIN_YEAR} to {MAX_YEAR}")
    try:
        return datetime.fromisoformat(value.upper())
    except ValueError as err:
        raise ValueError(f"not a valid date or time: {err}") from err


#: a request timestamp (see :func:`parse_timestamp`)
Timestamp = Annotated[datetime, BeforeValidator(parse_timestamp),
                      WithJsonSchema({"type": "string", "format": "date-time", "pattern": TIMESTAMP_PATTERN})]
#: a string both databases store as it is (identifiers, names, filters)
Storable = Annotated[str, AfterValidator(storable), SchemaPattern(NO_NUL_PATTERN)]
#: a language tag as callers send it (``en``, ``de-AT``, ``zh_Hant``)
LangTag = Annotated[str, StringConstraints(max_length=MAX_TAG_CHARS), AfterValidator(lang_tag),
                    SchemaPattern(LANG_TAG.pattern)]
#: a message or feedback id
DbId = Annotated[int, Field(ge=1, le=MAX_DB_ID)]


def json_depth(body: bytes) -> int:
    """How deep the JSON in ``body`` nests, counted on the raw bytes (nothing is parsed).

    Brackets inside strings do not count; an unterminated string ends the count (the parser
    refuses the body there anyway). Linear in the body's size, with no Python loop over it.

    Example:
        >>> json_depth(b'{"a": [1, {"b": "[[["}]}')
        3
    """
    brackets = _STRINGS.sub(b"", body).translate(_BRACKET_STEPS, delete=_NOT_BRACKETS)
    if not brackets:
        return 0
    return int(np.frombuffer(brackets, dtype=np.int8).cumsum(dtype=np.int64).max())


# a whole string (possessive, so linear on hostile input), or an unterminated one running to the end
_STRINGS = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"|".*', re.DOTALL)
# opening brackets count +1, closing ones -1 (as int8), everything else is dropped
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
