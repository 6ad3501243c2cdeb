"""Keep secrets out of what the product writes: logs, error lines, JSON output, run files.

The secrets are the values of the settings' ``SecretStr`` fields that differ from their defaults (a
default is public: it is in this source code). ``Redactor`` replaces each one, also in its JSON- and
URL-escaped forms, with ``***``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from urllib.parse import quote

from pydantic import BaseModel, SecretStr

MASK = "***"
MIN_LENGTH = 3
"""Shorter values are not redacted (masking every "ab" in a text would make it unreadable)."""


def secret_values(model: BaseModel) -> tuple[str, ...]:
    """The non-default SecretStr values of ``model`` and its nested models."""
    found: list[str] = []
    fields = type(model).model_fields
    for name, info in fields.items():
        value = getattr(model, name, None)
        if isinstance(value, SecretStr):
            secret = value.get_secret_value()
            default = info.default.get_secret_value() if isinstance(info.default, SecretStr) else None
            if len(secret) >= MIN_LENGTH and secret != default:
                found.append(secret)
        elif isinstance(value, BaseModel):
            found.extend(secret_values(value))
    return tuple(dict.fromkeys(found))


class Redactor:
    """``redactor(text)``: ``text`` with every secret (raw, JSON- or URL-escaped) replaced by ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if len(secret) < MIN_LENGTH:
                continue
            forms.update({secret, json.dumps(secret)[1:-1], quote(secret, safe=""), repr(secret)[1:-1]})
        self.forms = sorted(forms, key=len, reverse=True)  # longest first: no partial leftovers

    @classmethod
    def for_settings(cls, settings: BaseModel) -> Redactor:
        return cls(secret_values(settings))

    def __call__(self, text: str) -> str:
        for form in self.forms:
            if form in text:
                text = text.replace(form, MASK)
        return text


class RedactingFormatter(logging.Formatter):
    """A Formatter whose output (message, arguments, traceback) goes through a Redactor."""

    def __init__(self, fmt: str, redactor: Redactor | None = None) -> None:
        super().__init__(fmt)
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor(super().format(record))
