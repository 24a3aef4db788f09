"""Translations: the Chinese catalogue is complete, and the language switch works.

The app's msgids are English; Chinese ("zh") is the default language, English
comes through /lang/en. After adding or changing a user-facing string, run
``scripts/translations`` and translate what it lists.
"""
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.helpers import login

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "web" / "translations"
ZH_PO = TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po"
ZH_MO = TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.mo"
REFRESH = "run scripts/translations, then translate the new strings in web/translations/zh/LC_MESSAGES/messages.po"


def _read_po(path):
    with open(path, "rb") as f:
        return read_po(f)


def _msgid(message):
    return message.id[0] if isinstance(message.id, tuple) else message.id


def _strings(message):
    """The translation(s) as a tuple: one per plural form (read_mo gives lists)."""
    string = message.string
    return tuple(string) if isinstance(string, (list, tuple)) else (string,)


@pytest.fixture(scope="module")
def zh():
    return _read_po(ZH_PO)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The catalogue template extracted afresh from the sources, as scripts/translations does."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    # Keep these arguments in step with scripts/translations.
    result = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "--ignore-dirs=.* _* .venv tests data node_modules",
         "-o", str(pot), "."],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"message extraction failed:\n{result.stdout}\n{result.stderr}"
    return _read_po(pot)


def test_chinese_catalogue_header(zh):
    assert str(zh.locale) == "zh"
    assert zh.num_plurals == 1
    assert zh.plural_expr == "0"
    assert not zh.fuzzy, f"remove the '#, fuzzy' flag from the header of {ZH_PO}"


def test_every_chinese_message_is_translated(zh):
    problems = []
    for message in zh:
        if not message.id:
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {_msgid(message)!r}")
        elif not all(s and s.strip() for s in _strings(message)):
            problems.append(f"untranslated: {_msgid(message)!r}")
    assert not problems, (f"translate these in {ZH_PO} (scripts/translations lists them too):\n  "
                          + "\n  ".join(problems))


def test_chinese_translations_keep_their_placeholders(zh):
    # Babel's own checks: %(name)s placeholders must match the msgid's, plural forms count.
    problems = [f"{_msgid(message)!r}: {'; '.join(str(e) for e in errors)}"
                for message, errors in zh.check()]
    assert not problems, f"{ZH_PO}:\n  " + "\n  ".join(problems)


def test_every_string_in_the_sources_is_in_the_chinese_catalogue(zh, extracted):
    missing = [message for message in extracted if message.id and message.id not in zh]
    assert not missing, (
        f"{len(missing)} string(s) in the code have no Chinese translation yet; {REFRESH}:\n  "
        + "\n  ".join(f"{_msgid(m)!r} ({', '.join(f'{p}:{n}' for p, n in m.locations)})" for m in missing))


def test_compiled_catalogue_matches_the_po(zh):
    """The app reads the .mo; a stale one shows old or English text."""
    hint = "run scripts/translations (or scripts/setup) to compile the translations"
    assert ZH_MO.exists(), f"{ZH_MO} is missing; {hint}"
    with open(ZH_MO, "rb") as f:
        compiled = read_mo(f)
    stale = [_msgid(m) for m in zh if m.id and (m.id not in compiled
                                                or _strings(compiled[m.id]) != _strings(m))]
    assert not stale, f"{ZH_MO} is out of date ({len(stale)} message(s), e.g. {stale[0]!r}); {hint}"


# --- the language switch -------------------------------------------------------------

def _page(client, path="/"):
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def test_chinese_is_the_default(client):
    html = _page(client)
    assert '<html lang="zh-CN">' in html
    assert "登录" in html
    assert "用户名" in html  # form labels are lazy strings: translated per request
    assert "赣农溯源" in html
    assert "Sign in" not in html
    # The switch to English is on the page.
    assert 'href="/lang/en?next=' in html


def test_switching_to_english_and_back(client):
    response = client.get("/lang/en?next=/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    html = _page(client)
    assert '<html lang="en">' in html
    assert "Sign in" in html
    assert "Username" in html
    assert "登录" not in html
    assert 'href="/lang/zh?next=' in html

    response = client.get("/lang/zh?next=/")
    assert response.status_code == 302
    html = _page(client)
    assert '<html lang="zh-CN">' in html
    assert "登录" in html
    assert "Sign in" not in html


def test_language_choice_is_remembered_in_a_cookie(client):
    client.get("/lang/en")
    assert client.get_cookie("locale").value == "en"
    # A new session (no session cookie) with only the language cookie is still English.
    client.delete_cookie("session")
    assert '<html lang="en">' in _page(client)


def test_unknown_language_is_404(client):
    assert client.get("/lang/fr?next=/").status_code == 404
    assert client.get_cookie("locale") is None
    assert '<html lang="zh-CN">' in _page(client)


def test_language_switch_does_not_redirect_off_site(client):
    response = client.get("/lang/en?next=//evil.example/")
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


def test_signed_in_user_keeps_the_chosen_language(client, world):
    login(client, "farmer_a")
    assert "我的农场" in _page(client, "/dashboard")
    client.get("/lang/en?next=/dashboard")
    html = _page(client, "/dashboard")
    assert '<html lang="en">' in html and "My farms" in html

    # Stored on the account: a fresh browser is English right after signing in.
    from web.accounts.models import User

    assert User.get(User.username == "farmer_a").locale == "en"
    other = client.application.test_client()
    login(other, "farmer_a")
    assert "My farms" in _page(other, "/dashboard")
