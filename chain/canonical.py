"""The one serialisation that is hashed: RFC 8785-style canonical JSON.

- objects: keys sorted by their UTF-16 code units, no insignificant whitespace;
- strings: UTF-8, only the escapes JSON requires (quote, backslash, control characters,
  short forms for \\b \\f \\n \\r \\t, else \\u00xx in lower case);
- numbers: integers as digits; other numbers in the shortest form that reads back to the
  same IEEE double, written as ECMAScript's Number.prototype.toString does (``4000.0`` is
  ``4000``, ``1e-7`` stays exponential, ``0.000015`` does not); NaN and infinities are refused;
- true, false, null as such.

``scripts/verify_proof.py`` carries its own copy of these few lines, so that a buyer's
check needs nothing of this project.
"""
import json
import math


def _number(value):
    if isinstance(value, bool):
        raise TypeError("booleans are not numbers")
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise ValueError("NaN and infinities have no JSON form")
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    exponent = int(exponent)
    if -7 < exponent < 0:  # ECMAScript writes 1e-6 .. 1e-1 out in full
        sign = "-" if mantissa.startswith("-") else ""
        digits = mantissa.lstrip("-").replace(".", "")
        return f"{sign}0.{'0' * (-exponent - 1)}{digits}"
    return f"{mantissa}e{'+' if exponent > 0 else '-'}{abs(exponent)}"


def _encode(value, out):
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, (int, float)):
        out.append(_number(value))
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif isinstance(value, dict):
        out.append("{")
        for index, key in enumerate(sorted(value, key=lambda k: k.encode("utf-16-be", "surrogatepass"))):
            if not isinstance(key, str):
                raise TypeError("object keys must be strings")
            if index:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _encode(value[key], out)
        out.append("}")
    else:
        raise TypeError(f"{type(value).__name__} has no JSON form")


def canonical(value):
    """The canonical JSON text of ``value``."""
    out = []
    _encode(value, out)
    return "".join(out)


def canonical_bytes(value):
    return canonical(value).encode("utf-8", "surrogatepass")
