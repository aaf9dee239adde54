"""Every UI text found in the code has a German translation that keeps its placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir

from reminders.web.i18n import catalog, gettext_for, translations

ROOT = Path(__file__).resolve().parents[2]
METHODS = [
    ("reminders/**.py", "python"),
    ("reminders/web/templates/**.html", "jinja2"),
]
OPTIONS = {"reminders/web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "gettext_for": (2,)}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def msgids() -> set[str]:
    found: set[str] = set()
    for _filename, _line, message, _comments, _context in extract_from_dir(
        ROOT, METHODS, options_map=OPTIONS, keywords=KEYWORDS
    ):
        for text in message if isinstance(message, tuple) else (message,):
            if text:
                found.add(text)
    return found


def test_the_code_has_texts_to_translate() -> None:
    assert {"Sign in", "Overview", "The two passwords differ."} <= msgids()


def test_every_text_has_a_german_translation() -> None:
    german = catalog("de")
    missing = sorted(m for m in msgids() if not (german.get(m) and german.get(m).string))  # type: ignore[union-attr]
    assert missing == [], f"{len(missing)} texts without German translation (see `make messages`)"


def test_translations_keep_their_placeholders() -> None:
    broken = []
    for message in catalog("de"):
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set().union(*(PLACEHOLDER.findall(i) for i in ids if isinstance(i, str)))
        found = [set(PLACEHOLDER.findall(s)) for s in strings if isinstance(s, str) and s]
        # A plural's singular form may leave out the count ("one reminder"); nothing else may be lost.
        lost = found != [expected] if isinstance(message.id, str) else any(f - expected for f in found)
        if lost or not all(strings):
            broken.append(str(message.id))
    assert broken == []


def test_english_is_the_msgids_and_german_is_translated() -> None:
    assert translations("en").gettext("Sign in") == "Sign in"
    assert gettext_for("de", "Sign in") == "Anmelden"
    assert gettext_for("xx", "Sign in") == "Anmelden"  # unknown languages fall back to the default
