"""The unit of data that flows between the generator's steps."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Title:
    """One labelled title and the LLM call that produced it ("" for non-generated data).

    Multi-label tasks: `labels` is the title's label set (as the LLM gave it) and `label` the
    label its call was made for (the quota counts it).
    """

    text: str
    label: str
    call_id: str = ""
    labels: tuple[str, ...] = ()

    @property
    def label_key(self) -> str:
        """What two copies of a title must agree on: the label, or the label set (one string)."""
        return "\x1f".join(sorted(self.labels)) if self.labels else self.label


class TitleforgeError(Exception):
    """A user-facing error: its message quotes the bad value and names the fix."""

    exit_code = 2  # the user's input; runtime failures below override it with 1
