"""ECMAScript regular expressions (``pattern``, ``patternProperties``) in Python ``re``.

The compiler calls ``_js_regex`` once per pattern, when it compiles a schema;
the code it generates calls the returned ``search`` (a constant of its namespace).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable


# JS ``\s`` (WhiteSpace and LineTerminator); Python's differs (\x1c-\x1f, \x85, \ufeff).
_JS_S = "\\t\\n\\v\\f\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_CLASS_BODIES = {"d": "0-9", "w": "A-Za-z0-9_", "s": _JS_S}
# Unicode General_Category names and aliases usable in \p{...}.
_CATEGORIES = {
    "L": "L", "Letter": "L", "Lu": "Lu", "Uppercase_Letter": "Lu", "Ll": "Ll",
    "Lowercase_Letter": "Ll", "Lt": "Lt", "Titlecase_Letter": "Lt", "Lm": "Lm",
    "Modifier_Letter": "Lm", "Lo": "Lo", "Other_Letter": "Lo", "M": "M", "Mark": "M",
    "Mn": "Mn", "Mc": "Mc", "Me": "Me", "N": "N", "Number": "N", "Nd": "Nd",
    "Decimal_Number": "Nd", "digit": "Nd", "Nl": "Nl", "No": "No", "P": "P",
    "Punctuation": "P", "S": "S", "Symbol": "S", "Sm": "Sm", "Sc": "Sc", "Z": "Z",
    "Separator": "Z", "Zs": "Zs", "Space_Separator": "Zs", "C": "C", "Other": "C",
    "Cc": "Cc", "Control": "Cc", "Cf": "Cf", "Format": "Cf",
}


@lru_cache(maxsize=None)
def _category_class(category: str) -> str:
    """The body of a character class matching one Unicode general category."""
    import unicodedata

    ranges, start, prev = [], None, None
    for cp in range(0x110000):
        if unicodedata.category(chr(cp)).startswith(category):
            if start is None:
                start = cp
            prev = cp
        elif start is not None:
            ranges.append((start, prev))
            start = None
    if start is not None:
        ranges.append((start, prev))
    return "".join("\\U%08x" % a if a == b else "\\U%08x-\\U%08x" % (a, b) for a, b in ranges)


def _js_escape(pattern: str, i: int, in_class: bool) -> tuple[str, int]:
    """Translate the escape starting at ``pattern[i] == "\\"``; returns (text, next i)."""
    d = pattern[i + 1]
    i += 2
    if d in "dws":
        return (_CLASS_BODIES[d] if in_class else "[%s]" % _CLASS_BODIES[d]), i
    if d in "DWS" and not in_class:
        return "[^%s]" % _CLASS_BODIES[d.lower()], i
    if d in "pP" and pattern.startswith("{", i):
        end = pattern.index("}", i)
        name = pattern[i + 1:end]
        if name not in _CATEGORIES or (d == "P" and in_class):
            raise ValueError("unsupported property escape \\%s{%s}" % (d, name))
        body = _category_class(_CATEGORIES[name])
        return (body if in_class else "[%s%s]" % ("^" if d == "P" else "", body)), end + 1
    if d == "c" and i < len(pattern) and pattern[i].isascii() and pattern[i].isalpha():
        return "\\x%02x" % (ord(pattern[i]) % 32), i + 1
    if d == "k" and pattern.startswith("<", i):
        end = pattern.index(">", i)
        return "(?P=%s)" % pattern[i + 1:end], end + 1
    if d == "u" and pattern.startswith("{", i):
        end = pattern.index("}", i)
        return "\\U%08x" % int(pattern[i + 1:end], 16), end + 1
    return "\\" + d, i


def _js_regex(pattern: str) -> Callable[[str], Any]:
    """Translate an ECMAScript (``u`` flag) pattern to Python and return its search.

    Handled: ``\\d``/``\\w`` are ASCII-only and ``\\s`` has its own set in JS;
    ``$`` matches only at the very end; ``(?<name>``/``\\k<name>`` named groups;
    ``[^]`` and ``[]``; ``\\u{...}``; ``\\cX``; ``\\p{...}`` general categories."""
    out, i, n, in_class = [], 0, len(pattern), False
    try:
        while i < n:
            c = pattern[i]
            if c == "\\" and i + 1 < n:
                text, i = _js_escape(pattern, i, in_class)
                out.append(text)
                continue
            if in_class:
                in_class = c != "]"
                out.append("\\" + c if c in "[&|~" else c)
            elif pattern.startswith("[^]", i) or pattern.startswith("[]", i):
                negated = pattern[i + 1] == "^"
                out.append(r"[\s\S]" if negated else "(?!)")
                i += 3 if negated else 2
                continue
            elif c == "[":
                in_class = True
                out.append(c)
                if pattern.startswith("^", i + 1):
                    out.append("^")
                    i += 1
            elif c == "$":
                out.append(r"\Z")
            elif pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
                out.append("(?P<")
                i += 3
                continue
            else:
                out.append(c)
            i += 1
        return re.compile("".join(out)).search
    except (re.error, ValueError, IndexError) as exc:
        raise ValueError("invalid pattern %r in schema: %s" % (pattern, exc)) from None
