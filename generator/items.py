"""The unit of data that flows between the generator's steps."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Title:
    """One labelled title and the LLM call that produced it ("" for non-generated data)."""

    text: str
    label: str
    call_id: str = ""


class TitleforgeError(Exception):
    """A user-facing error: its message quotes the bad value and names the fix."""

    exit_code = 2  # the user's input; runtime failures below override it with 1
