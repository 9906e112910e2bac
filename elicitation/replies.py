"""Reading the interviewer's reply: where a sentence or a question ends, and the end marker
held back from a streamed reply. Pure module (no database)."""

import re

from elicitation.interview import SUBMIT_MARKER

# A sentence ends in . ! ? (or …), maybe followed by closing quotes or brackets.
LAST_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s|$)")


def end_at_sentence(text: str, *, cut: bool = False) -> str:
    """Return ``text`` cut after its last complete sentence (a reply stopped by the token limit
    ends mid-sentence); unchanged when it ends a sentence.

    With no complete sentence at all it is kept, except when ``cut`` says the token limit
    stopped it: then its last, perhaps partial, word is dropped and "…" ends it (never mid-word).
    """
    text = text.rstrip()
    ends = list(LAST_SENTENCE_END.finditer(text))
    if ends and ends[-1].end() == len(text):
        return text
    if ends:
        return text[: ends[-1].end()]
    if not cut:
        return text
    words = text.split()
    if len(words) < 2:
        return ""
    return " ".join(words[:-1]).rstrip(",;:-–—") + "…"


# A question ends in "?" (maybe followed by closing quotes or brackets) at a space or the end.
QUESTION_END = re.compile(r"\?[\"'”’)\]]*(?=\s|$)")


def first_question_end(text: str) -> int | None:
    """Return where ``text``'s first question ends (after its "?"), or None if it asks none."""
    match = QUESTION_END.search(text)
    return match.end() if match else None


class MarkerFilter:
    """Pass a streamed reply through, holding back anything that may be the start of the marker.

    Feed it the deltas; it returns what may be shown now. ``text`` is the whole reply without
    the marker, ``submitted`` whether the marker came.
    """

    def __init__(self, marker: str = SUBMIT_MARKER):
        self.marker = marker
        self._raw = ""
        self._shown = 0

    def feed(self, piece: str) -> str:
        """Add ``piece``; return the text that can be shown now."""
        self._raw += piece
        visible = self._raw.replace(self.marker, "")
        # Hold back a tail that could still grow into the marker.
        hold = 0
        for length in range(min(len(self.marker) - 1, len(visible)), 0, -1):
            if self.marker.startswith(visible[-length:]):
                hold = length
                break
        safe = visible[: len(visible) - hold]
        out, self._shown = safe[self._shown :], max(self._shown, len(safe))
        return out

    def finish(self) -> str:
        """Return what was held back once the reply is complete (a tail that was not marker)."""
        visible = self._raw.replace(self.marker, "")
        out = visible[self._shown :]
        self._shown = len(visible)
        return out

    @property
    def submitted(self) -> bool:
        return self.marker in self._raw

    @property
    def text(self) -> str:
        return self._raw.replace(self.marker, "").strip()
