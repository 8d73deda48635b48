"""
Numbers as people read them on the site: "500 000", "4600", "1.5 million", "over 500 000
inhabitants", "450 km²".

The house style follows the seed page: thousands are grouped with a space, but only from five
digits up (4600, yet 30 000), as SI style allows for four-digit numbers; a million and more is
written in words with at most one decimal. Templates never format numbers themselves; they use
the filters in regions.templatetags.region_numbers.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

THOUSANDS_SEPARATOR = " "
# Below this many digits before the decimal point, thousands are not grouped (4600, 9999).
GROUP_FROM_DIGITS = 5
# Large numbers in words, largest first; each step is a thousand times the next.
SCALES = [(Decimal(10) ** 9, "billion"), (Decimal(10) ** 6, "million")]
SCALE_DECIMALS = Decimal("0.1")


def _as_decimal(value):
    if isinstance(value, Decimal):
        return value
    try:
        # str() first, so that a float such as 0.1 keeps the digits it prints with.
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ValueError(f"not a number: {value!r}") from None


def _without_trailing_zeros(number):
    """"12.50" → "12.5", "450.00" → "450", never scientific notation ("1E+3")."""
    text = f"{number:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _group_thousands(digits):
    if len(digits) < GROUP_FROM_DIGITS:
        return digits
    head = len(digits) % 3 or 3
    groups = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return THOUSANDS_SEPARATOR.join(groups)


def _plain(number):
    text = _without_trailing_zeros(number)
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, dot, fraction = text.partition(".")
    return f"{sign}{_group_thousands(whole)}{dot}{fraction}"


def _in_words(number):
    """"1.5 million" for numbers of a million and more; None for smaller ones."""
    magnitude = abs(number)
    for index, (size, word) in enumerate(SCALES):
        if magnitude < size:
            continue
        scaled = (magnitude / size).quantize(SCALE_DECIMALS, rounding=ROUND_HALF_UP)
        if scaled >= 1000 and index > 0:
            # 999 960 000 rounds to "1000.0 million": that is "1 billion".
            size, word = SCALES[index - 1]
            scaled = (magnitude / size).quantize(SCALE_DECIMALS, rounding=ROUND_HALF_UP)
        sign = "-" if number < 0 else ""
        return f"{sign}{_plain(scaled)} {word}"
    return None


def format_number(value):
    """A number as the site writes it: "4600", "30 000", "12.5", "1.5 million"."""
    number = _as_decimal(value)
    return _in_words(number) or _plain(number)


def format_quantity(value, unit="", qualifier=""):
    """A number with its qualifier and unit: "over 500 000 inhabitants", "450 km²"."""
    return " ".join(part for part in (qualifier, format_number(value), unit) if part)


def format_figure(figure):
    """A regions.Figure as text: its qualifier, value and its metric's unit."""
    return format_quantity(figure.value, figure.metric.unit, figure.qualifier)
