"""Calendar field text as a person reads it: HTML reduced to plain text, odd whitespace made plain.

Google and Outlook hand over event descriptions as HTML; ICS feeds mostly as plain text. Phone
extraction and the troubleshooting page both want what the user typed, so every field goes
through `html_to_text` first.
"""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

from selectolax.lexbor import LexborHTMLParser

# Larger values are cut before parsing: the parser's work grows with the input and no real
# event description comes near this size.
MAX_HTML_CHARS = 200_000

# lexbor spends time proportional to the nesting depth on every start tag, so 100k nested <div>s
# take seconds. Past this depth the tags are stripped by a linear scan instead of being parsed.
MAX_PARSED_DEPTH = 256

# Stands in for a line break while the HTML's own (insignificant) whitespace is collapsed.
_BREAK = "\ue000"

_LOOKS_LIKE_HTML = re.compile(
    r"<(?:a|b|i|u|p|br|hr|em|li|ol|ul|dl|dt|dd|tr|td|th|h[1-6]|o:p|img|div|pre|sub|sup|font|span|html|"
    r"head|body|meta|table|tbody|thead|style|small|strong|script|center|section|article|blockquote)"
    r"\b[^<>]{0,1000}>"
    r"|</[a-z][a-z0-9]{0,20}\s*>|<!--"
    r"|&(?:nbsp|amp|lt|gt|quot|apos|#\d{1,7}|#x[0-9a-f]{1,6});",
    re.IGNORECASE,
)

# Elements that start a new line when rendered.
_BLOCK_TAGS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset"),
        *("figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr"),
        *("li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "tfoot", "thead", "tr", "ul"),
    }
)
_CELL_TAGS = frozenset({"td", "th"})
_DROPPED_TAGS = ("script", "style", "template", "noscript", "title", "head")
# Elements without an end tag.
_VOID_TAGS = frozenset(
    {
        *("area", "base", "br", "col", "embed", "hr", "img", "input"),
        *("link", "meta", "param", "source", "track", "wbr"),
    }
)
# Elements the parser closes by itself when the next one starts: they do not nest.
_IMPLIED_END_TAGS = frozenset({"p", "li", "dt", "dd", "tr", "td", "th", "option", "thead", "tbody", "tfoot"})
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)([^<>]*)>")
_TEL_HREF = re.compile(r"""\bhref\s*=\s*["']?\s*(?:tel|callto|sms):([^"'\s>]*)""", re.IGNORECASE)
_TEL_SCHEME = re.compile(r"\s*(?:tel|callto|sms):", re.IGNORECASE)


def _translation_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    # Lone surrogates (from broken decoding) cannot be encoded for the parser or a database.
    for code in range(0xD800, 0xE000):
        table[code] = "\ufffd"
    # Control characters other than tab and newline carry no text.
    for code in [*range(0x00, 0x09), *range(0x0E, 0x20), *range(0x7F, 0xA0)]:
        table[code] = " "
    for code in (0x0B, 0x0C, 0x85, 0x2028, 0x2029):
        table[code] = "\n"
    table[0x0D] = "\n"
    # No-break, thin, ideographic and zero-width spaces all read as a plain space.
    for code in (0xA0, 0x1680, 0x202F, 0x205F, 0x3000, 0x2060, 0xFEFF, *range(0x2000, 0x200E)):
        table[code] = " "
    table[0xAD] = None  # soft hyphen: a hyphenation hint inside a word, not a separator
    return table


_TRANSLATION = _translation_table()


def normalise_whitespace(value: str) -> str:
    """Map lone surrogates, control characters and unusual spaces to plain characters."""
    return value.replace("\r\n", "\n").translate(_TRANSLATION)


def looks_like_html(value: str) -> bool:
    """Whether the value contains markup (a known tag, an end tag, a comment or an entity)."""
    return _LOOKS_LIKE_HTML.search(value[:MAX_HTML_CHARS]) is not None


def html_to_text(value: str) -> str:
    """Reduce HTML to plain text (line breaks for blocks, entities decoded, tel: link numbers kept).

    Plain text passes through unchanged apart from `normalise_whitespace`. Never raises.
    """
    value = normalise_whitespace(value)
    if not looks_like_html(value):
        return value
    if len(value) > MAX_HTML_CHARS:
        value = value[:MAX_HTML_CHARS]
        if value.rfind("<") > value.rfind(">"):  # the cut fell inside a tag
            value = value[: value.rfind("<")]
    value = value.replace(_BREAK, " ")
    text = _parse(value) if _max_depth(value) <= MAX_PARSED_DEPTH else _strip_tags(value)
    return _tidy(normalise_whitespace(text))


def _max_depth(value: str) -> int:
    """The deepest nesting of unclosed elements, estimated in one linear pass."""
    depth = deepest = 0
    for match in _TAG.finditer(value):
        name = match.group(2).lower()
        if match.group(1):
            depth = max(0, depth - 1)
        elif name not in _VOID_TAGS and name not in _IMPLIED_END_TAGS and not match.group(3).endswith("/"):
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def _tel_number(href: str) -> str:
    """The number of a tel:/callto:/sms: link target, without scheme and parameters."""
    target = _TEL_SCHEME.sub("", href, count=1)
    return re.split(r"[?;,]", unquote(target), maxsplit=1)[0].strip()


def _needs_link_number(visible: str) -> bool:
    # A link that shows the number already needs no copy; one saying "Call" does.
    return sum(char.isdigit() for char in visible) < 6


def _parse(value: str) -> str:
    tree = LexborHTMLParser(value)
    tree.strip_tags(list(_DROPPED_TAGS))
    body = tree.body
    if body is None:
        return ""
    for link in body.css("a[href]"):
        href = link.attributes.get("href") or ""
        if _TEL_SCHEME.match(href) and _needs_link_number(link.text()):
            link.insert_after(f" {_tel_number(href)} ")
    for node in body.css(", ".join(sorted(_BLOCK_TAGS | _CELL_TAGS))):
        mark = " " if node.tag in _CELL_TAGS else _BREAK
        node.insert_before(mark)
        node.insert_after(mark)
    text: str = body.text(deep=True, separator="")
    return text


def _strip_tags(value: str) -> str:
    """Tag stripping by linear scans, for markup too deeply nested to parse quickly."""
    value = _drop_between(value, "<!--", "-->")
    for tag in _DROPPED_TAGS:
        value = _drop_element(value, tag)

    def replace(match: re.Match[str]) -> str:
        name = match.group(2).lower()
        if name == "a" and not match.group(1):
            href = _TEL_HREF.search(match.group(3))
            return f" {_tel_number('tel:' + href.group(1))} " if href else ""
        if name in _BLOCK_TAGS:
            return _BREAK
        return " " if name in _CELL_TAGS else ""

    return html.unescape(_TAG.sub(replace, value))


def _drop_between(value: str, start: str, end: str) -> str:
    # str.find keeps this linear where a lazy regex would rescan an unterminated tail every time.
    parts: list[str] = []
    position = 0
    while (begin := value.find(start, position)) >= 0:
        parts.append(value[position:begin])
        finish = value.find(end, begin + len(start))
        if finish < 0:
            return "".join(parts)
        position = finish + len(end)
    parts.append(value[position:])
    return "".join(parts)


def _drop_element(value: str, tag: str) -> str:
    lowered = value.translate(_ASCII_LOWER)  # str.lower() may change the length ("İ")
    parts: list[str] = []
    position = 0
    while (begin := lowered.find(f"<{tag}", position)) >= 0:
        after = lowered[begin + len(tag) + 1 : begin + len(tag) + 2]
        if after and (after.isalnum() or after == "-"):  # <header> is not <head>
            parts.append(value[position : begin + 1])
            position = begin + 1
            continue
        parts.append(value[position:begin])
        finish = lowered.find(f"</{tag}", begin)
        if finish < 0:
            return "".join(parts)
        close = lowered.find(">", finish)
        position = len(value) if close < 0 else close + 1
    parts.append(value[position:])
    return "".join(parts)


def _tidy(text: str) -> str:
    # Whitespace in HTML source is insignificant; only the break marks become line breaks.
    text = re.sub(r"[ \t\n]+", " ", text)
    text = re.sub(rf" ?{_BREAK}[{_BREAK} ]*", "\n", text)
    return text.strip(" \n")
