"""Terminal layout of the one-screen commands (``microapp explain``), pure: the terminal renderer's
primitives (the view models know nothing of it).

Labelled lines wrapped to the terminal's width with hanging indents, so nothing runs past the
edge; shell commands wrapped with backslash continuations, so they still run when pasted;
colour (ANSI) only when asked, and only on labels, so piped output is plain text. Text from
the cluster (Event messages, conditions) is stripped of control characters first: an Event
must not be able to move the cursor or recolour the user's terminal.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .views import Tone

_CODES = {Tone.OK: "32", Tone.WARN: "33", Tone.BAD: "31"}
BOLD = "1"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
LABEL_WIDTH = 12
INDENT = "  "
MIN_WIDTH = 40  # narrower than this, a label and a few words no longer fit


@dataclass(frozen=True)
class Line:
    """One labelled line; ``details`` go beneath it as bullets. ``command``: a shell command,
    wrapped with backslash continuations instead of at spaces."""

    label: str
    text: str
    tone: Tone = Tone.INFO
    details: tuple[str, ...] = ()
    command: bool = False


@dataclass(frozen=True)
class Section:
    """A bold title and its lines."""

    title: str
    lines: tuple[Line, ...]


Paint = Callable[[str, str | None], str]


def painter(colour: bool) -> Paint:
    """``paint(text, code)``: the text in that SGR code, or unchanged without colour."""

    def paint(text: str, code: str | None) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if colour and code and text else text

    return paint


def clean(text: str) -> str:
    """One line of printable text: control characters (escape sequences included) removed."""
    return _CONTROL.sub("", text.replace("\n", " ").replace("\t", " "))


def render(heading: str, status: str, tone: Tone, sections: Iterable[Section], *, width: int, colour: bool) -> str:
    """The screen: ``heading: status`` on top, then each section; no line wider than ``width``."""
    width = max(width, MIN_WIDTH)
    paint = painter(colour)
    heading, status = clean(heading), clean(status)
    out = wrap(f"{heading}: {status}", width, "", INDENT)
    if out[0].startswith(heading):
        out[0] = paint(heading, BOLD) + out[0][len(heading) :]
    if out[-1].endswith(status):  # the status in its colour, where it stands
        out[-1] = out[-1][: len(out[-1]) - len(status)] + paint(status, _CODES.get(tone))
    for section in sections:
        out.append(paint(section.title, BOLD))  # (no blank lines: the screen stays one screen)
        for line in section.lines:
            out += lines(line, width, paint)
    return "\n".join(out) + "\n"


def lines(line: Line, width: int, paint: Paint) -> list[str]:
    """One :class:`Line` as wrapped terminal lines, its label painted in its tone."""
    label = clean(line.label)[: 2 * LABEL_WIDTH]
    lead = INDENT + label.ljust(LABEL_WIDTH) + " "
    hang = " " * (len(INDENT) + LABEL_WIDTH + 1)
    text = clean(line.text)
    body = command(text, width, lead, hang) if line.command else wrap(text, width, lead, hang)
    if label:
        body[0] = INDENT + paint(label, _CODES.get(line.tone)) + body[0][len(INDENT) + len(label) :]
    for detail in line.details:
        body += wrap("- " + clean(detail), width, hang, hang + "  ")
    return body


def wrap(text: str, width: int, lead: str, hang: str) -> list[str]:
    """Words filled to ``width``; a word longer than a line is cut (never past the edge)."""
    return textwrap.wrap(
        text, width=width, initial_indent=lead, subsequent_indent=hang, break_on_hyphens=False, break_long_words=True
    ) or [lead.rstrip()]


def command(text: str, width: int, lead: str, hang: str) -> list[str]:
    """A shell command over several lines joined by `` \\``, so a paste runs it as one."""
    rows: list[str] = []
    current = ""
    for word in text.split():
        while word:
            room = width - len(hang if rows else lead) - 2
            joined = f"{current} {word}" if current else word
            if len(joined) <= room:
                current, word = joined, ""
            elif current:
                rows.append(current)
                current = ""
            else:  # one word longer than a line: cut it (rare: names are at most 63 characters)
                rows.append(word[:room])
                word = word[room:]
    rows.append(current)
    return [(lead if i == 0 else hang) + row + (" \\" if i < len(rows) - 1 else "") for i, row in enumerate(rows)]


def visible(text: str) -> str:
    """The text as the terminal shows it: ANSI colour codes removed (for width checks)."""
    return ANSI.sub("", text)
