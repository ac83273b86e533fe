"""Every page the demo users reach, rendered in zh-Hans (issue 17): no English string of the catalogues left
untranslated, and no English refusal or error sentence.

A small demo is seeded once for the module (seed_demo, as tests/test_schemathesis.py does). Each demo login then
crawls with Django's test client in Chinese: from the home page, every same-site link (GET), at most a few pages per
URL pattern (a list of 200 patients is one pattern), skipping the admin, the API, DICOMweb and downloads. Each page's
visible text (not scripts, not elements marked with another `lang`, like the language switch's "English") is checked:

1. catalogue strings: every msgid of the zh_Hans catalogues whose msgstr is set and differs from it must not appear
   untranslated: as a whole text node or attribute text, or, for sentences (4 words or more, placeholders split out),
   anywhere in the page's text;
2. English sentences of refusal and error ("... is required", "You may not ...", "Only a ...", "No such ...") in a text
   with no Chinese at all.

It always runs (no skip: a test that skips in CI is a failure). It reads the catalogues' .po files for rule 1 and the
pages are translated from the compiled .mo files, so a string added since the last `make messages` is checked by rule 2
only until it is in the catalogue. A failure lists the page, the demo user and each string, so a template
that forgets {% translate %} or a Python message without gettext is found by name. The browser pass
(tests/test_zh_crawl_browser.py) checks a sample of the same pages in Chromium.
"""
import io
import re
from collections import Counter, deque
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import Client
from django.urls import Resolver404, resolve, reverse

from registry.access import may
from registry.demo import cohort
from registry.models import User

pytestmark = pytest.mark.django_db

PER_PATTERN = 2  # instances of one URL pattern visited per user
# Free text typed by users (the demo's reasons for missed visits), shown as entered: data, not the interface.
DATA_TEXTS = {*cohort.MISSED_REASONS, cohort.LOST_REASON}
PER_USER = 120  # pages per user at most
SKIP_PREFIXES = ("/admin/", "/api/", "/dicomweb/", "/accounts/logout/", "/i18n/", "/static/", "/media/", "/favicon.ico")
ZH_HEADERS = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")
PLACEHOLDER = re.compile(r"%\([^)]*\)[sdfr]|%[sdfr]|\{\{[^}]*\}\}|\{[^}]*\}")
REFUSAL = re.compile(
    r"\b(is required|are required|may not|must not|not allowed|does not allow|cannot be|can ?not|could not|"
    r"You (may|can|do|cannot|are)|Your role|Only (a|an|the|data|site|investigators?|coordinators?|monitors?|sponsors?)\b|"
    r"No such|not found|does not exist|is not (a|an|in|one)|was refused|is refused|already (signed|recorded|withdrawn)|"
    r"Enter a|Select a valid|This field|Please (enter|choose|correct))", re.I)



def _po_entries(path: Path) -> Iterator[tuple[list[str], list[str], bool]]:
    """(msgids, msgstrs, fuzzy) of each entry of a .po file: msgid and msgid_plural; msgstr or msgstr[n]."""
    entry: dict[str, list[str]] = {}
    fuzzy = False
    current: str | None = None

    def done() -> Iterator[tuple[list[str], list[str], bool]]:
        ids = [v for k, v in entry.items() if k.startswith("msgid")]
        strs = [v for k, v in entry.items() if k.startswith("msgstr")]
        if ids:
            yield ["".join(i) for i in ids], ["".join(s) for s in strs], fuzzy

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or (line.startswith("#") and not line.startswith("#,")):
            if not line and entry:
                yield from done()
                entry, fuzzy, current = {}, False, None
            continue
        if line.startswith("#,"):
            fuzzy = fuzzy or "fuzzy" in line
            continue
        match = re.match(r'^(msgid_plural|msgid|msgstr(?:\[\d+\])?|msgctxt)\s+"(.*)"$', line)
        if match:
            current = match.group(1)
            entry[current] = [match.group(2)]
        elif line.startswith('"') and current:
            entry[current].append(line[1:-1])
    if entry:
        yield from done()


def _unescape(text: str) -> str:
    return text.replace('\\"', '"').replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")


def _normal(text: str) -> str:
    return " ".join(text.split())


def catalogue_strings() -> tuple[set[str], list[tuple[str, str]]]:
    """(whole strings to match a text node exactly, [(msgid, fragment)] of sentences to find anywhere)."""
    whole: set[str] = set()
    sentences: list[tuple[str, str]] = []
    for po in sorted(Path(settings.BASE_DIR).glob("*/locale/zh_Hans/LC_MESSAGES/django.po")):
        for ids, strs, fuzzy in _po_entries(po):
            if fuzzy or not ids[0] or not any(strs):
                continue
            for msgid in ids:
                english = _normal(_unescape(msgid))
                if not re.search(r"[A-Za-z]{2}", english) or english in {_normal(_unescape(s)) for s in strs}:
                    continue  # nothing to translate, or the same in both (codes, units, names)
                if not PLACEHOLDER.search(english):
                    whole.add(english)
                fragment = max(PLACEHOLDER.split(english), key=len).strip(" .,:;·()")
                if len(fragment.split()) >= 4:
                    sentences.append((english, fragment))
    return whole, sentences


class _Text(HTMLParser):
    """Visible text nodes and attribute texts, outside scripts, styles and elements marked with a non-Chinese lang."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
    ATTRS = ("placeholder", "title", "aria-label", "alt")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, hidden)
        self.texts: list[str] = []
        self.links: list[str] = []

    def _hidden(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        lang = (values.get("lang") or "").lower()
        hidden = self._hidden() or tag in {"script", "style", "noscript", "template", "code", "pre"} \
            or (bool(lang) and not lang.startswith("zh")) or values.get("translate") == "no"
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        if not hidden:
            self.texts.extend(_normal(values[a] or "") for a in self.ATTRS if values.get(a))
            if tag == "input" and values.get("type") in {"submit", "button"} and values.get("value"):
                self.texts.append(_normal(values["value"] or ""))
        if tag not in self.VOID:
            self.stack.append((tag, hidden))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        text = _normal(data)
        if text and not self._hidden():
            self.texts.append(text)


def problems_of(html: str, whole: set[str], sentences: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    parser = _Text()
    parser.feed(html)
    texts = [t for t in parser.texts if t]
    page = " ".join(texts)
    found = sorted({t for t in texts if t in whole or t.rstrip(" .:") in whole})
    found += sorted({msgid for msgid, fragment in sentences if fragment in page and msgid not in found})
    english = sorted({t for t in texts if not CJK.search(t) and REFUSAL.search(t) and len(t.split()) >= 3 and t not in DATA_TEXTS})
    return found, english


def links_of(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.links


@pytest.fixture(scope="module")
def demo_world(django_db_setup, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The demo network with a small cohort, trials, imaging and reading, rolled back at the module's end."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with django_db_blocker.unblock(), transaction.atomic():
            call_command("seed_demo", patients=400, scale=0.05, verbosity=0, stdout=io.StringIO())
            yield
            transaction.set_rollback(True)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def starting_points(user: User) -> list[str]:
    """The home page, and a few records of each kind the user may see that the demo's links may not reach at this
    size (a trial subject, an adverse event, a data query, an imaging study): pages the worklist and searches open."""
    from imaging.models import ImagingStudy
    from trials.models import Subject
    from trials.oversight.models import DataQuery
    from trials.safety.models import AdverseEvent

    paths = ["/"]
    for model, url_name in ((Subject, "web-subject-detail"), (AdverseEvent, "web-ae-detail"), (DataQuery, "web-query-detail"),
                            (ImagingStudy, "web-study-detail")):
        for pk in model.objects.restrict(user, "view").order_by("pk").values_list("pk", flat=True)[:PER_PATTERN]:
            paths.append(reverse(url_name, args=[pk]))
    return paths


def crawl(user: User) -> Iterator[tuple[str, str]]:
    """(path, html) of each page the user reaches from the home page (and the starting points), in zh-Hans."""
    client = Client(**ZH_HEADERS)
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    seen: set[str] = set()
    per_pattern: Counter[str] = Counter()
    queue = deque(starting_points(user))
    while queue and len(seen) < PER_USER:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        try:
            pattern = resolve(urlsplit(path).path).route
        except Resolver404:
            continue
        if per_pattern[pattern] >= PER_PATTERN:
            continue
        per_pattern[pattern] += 1
        response = client.get(path)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        yield path, html
        for href in links_of(html):
            parts = urlsplit(urljoin(path, href))
            if parts.scheme in {"", "http"} and parts.netloc in {"", "testserver"} and not parts.path.startswith(SKIP_PREFIXES):
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))


def test_the_checker_finds_what_it_should() -> None:
    """The rules on a page made for it: an untranslated label and sentence, an English refusal; nothing in a script,
    in an element in another language, or in Chinese text."""
    whole = {"Patients", "Record consent"}
    sentences = [("Only an open query can be answered (status: %(status)s).", "Only an open query can be answered (status:")]
    html = ('<html lang="zh-hans"><nav><a href="/p/">Patients</a><button lang="en">English</button></nav>'
            '<p>Only an open query can be answered (status: open).</p><div class="invalid-feedback">This field is required.</div>'
            '<script>var s = "Record consent";</script><p>患者 Patients 列表</p><p>记录知情同意</p></html>')
    found, english = problems_of(html, whole, sentences)
    assert found == ["Patients", "Only an open query can be answered (status: %(status)s)."]
    assert english == ["Only an open query can be answered (status: open).", "This field is required."]


def test_every_demo_page_in_chinese(demo_world: None) -> None:
    whole, sentences = catalogue_strings()
    assert len(whole) > 500 and len(sentences) > 100, "the catalogues were not read"
    users = [u for u in User.objects.filter(is_active=True).order_by("username") if may(u, "hold_a_role")]
    assert len(users) >= 6, [u.username for u in users]
    report: list[str] = []
    pages = 0
    for user in users:
        for path, html in crawl(user):
            pages += 1
            found, english = problems_of(html, whole, sentences)
            report += [f"{user.username} {path}: untranslated {s!r}" for s in found]
            report += [f"{user.username} {path}: English {s!r}" for s in english]
    assert pages >= 10 * len(users) // 2, pages
    # One line per string and page; the same string on many pages is one fix, so show the distinct strings first.
    distinct = sorted({line.split(": ", 1)[1] for line in report})
    assert not report, f"{len(report)} findings on {pages} pages; distinct:\n" + "\n".join(distinct) + "\n\nwhere:\n" + \
        "\n".join(report[:300])
