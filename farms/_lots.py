"""Lot numbers the app suggests for harvests."""
import re
import secrets

from web.clock import local_now


# Lot numbers the app suggests: a prefix, the year and six random characters (no 0/O, 1/I), about
# 10^9 per prefix and year, so a lot cannot be found by counting when the product's GTIN is public.
LOT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def suggest_lot(prefix="LOT", year=None):
    """A fresh, unguessable lot number such as ``XF-2026-K7Q9M2`` (at most 20 characters)."""
    prefix = re.sub(r"[^A-Za-z0-9]", "", prefix or "").upper()[:8] or "LOT"
    year = year or local_now().year
    return f"{prefix}-{year}-" + "".join(secrets.choice(LOT_ALPHABET) for _ in range(6))
