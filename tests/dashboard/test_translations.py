"""The back office in English, Spanish and Brazilian Portuguese.

- Every message of our catalogues (locale/) has a translation in each language, and the
  compiled .mo files say exactly what the .po files say.
- Every admin page each role can open, rendered for a person who chose Spanish or Portuguese,
  shows none of our English messages: a message id of ours whose translation differs from the
  English (or is missing) found in the page's visible text is an untranslated string.
"""

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from axes.models import AccessAttempt, AccessLog
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from accounts.models import BalanceSnapshot, RewardAccount
from bulk_adjustments.services import bulk_batch_create, bulk_file_preview
from kernel.roles import ROLES
from loyalty_backoffice.dashboard.navigation import sidebar_navigation
from rewards.models import ChainAnchor, ReconciliationResult, ReconciliationRun
from rewards.services.adjustments import adjustment_approve
from rewards.services.chain import chain_anchor_take, chain_verification_run
from staff.services import user_language_set
from tests.support.adjustments import make_request
from tests.support.catalogues import LANGUAGES, mo_read, po_path, po_read
from tests.support.pages import as_user

pytestmark = pytest.mark.django_db


# --- the catalogues ----------------------------------------------------------------------------


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_message_has_a_translation(language):
    """Fails until the translators have filled the catalogue: lists what is missing."""
    messages = po_read(po_path(language))
    assert len(messages) > 300, "the catalogue looks empty: run makemessages"
    missing = [m.msgid for m in messages if not m.translated]
    assert not missing, (
        f"{len(missing)} of {len(messages)} messages untranslated or fuzzy, e.g. {missing[:10]}")


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_the_compiled_catalogue_says_what_the_po_file_says(language):
    """`compilemessages` was run after the last change of the .po file (the .mo is committed)."""
    compiled = mo_read(language)._catalog  # type: ignore[attr-defined]
    expected: dict = {}
    for m in po_read(po_path(language)):
        if not m.translated:
            continue  # msgfmt leaves out untranslated and fuzzy messages
        if m.msgid_plural:
            for index, text in m.msgstr.items():
                expected[(m.key, index)] = text
        else:
            expected[m.key] = m.msgstr[0]
    compiled = {key: text for key, text in compiled.items() if key != ""}
    assert compiled == expected, (
        f"locale/{LANGUAGES[language]}/LC_MESSAGES/django.mo is out of date: run "
        "`manage.py compilemessages --ignore=.venv` and commit the .mo files")


def test_the_reader_of_po_files_reads_plurals_contexts_and_fuzzy_flags(tmp_path):
    """The catalogue tests above rely on this reader (no GNU gettext in CI)."""
    path = tmp_path / "django.po"
    path.write_text(
        'msgid ""\nmsgstr ""\n"Language: es\\n"\n\n'
        '#: a.py:1\nmsgid "Save"\nmsgstr "Guardar"\n\n'
        '#, fuzzy\nmsgid "Home"\nmsgstr "Casa"\n\n'
        'msgctxt "IP address"\nmsgid "From"\nmsgstr ""\n\n'
        'msgid ""\n"%(n)d row"\nmsgid_plural "%(n)d rows"\nmsgstr[0] "%(n)d fila"\nmsgstr[1] ""\n',
        encoding="utf-8")
    save, home, origin, rows = po_read(path)
    assert (save.msgid, save.msgstr, save.translated) == ("Save", {0: "Guardar"}, True)
    assert (home.msgid, home.translated) == ("Home", False)
    assert (origin.key, origin.translated) == ("IP address\x04From", False)
    assert (rows.msgid, rows.msgid_plural, rows.msgstr) == ("%(n)d row", "%(n)d rows",
                                                            {0: "%(n)d fila", 1: ""})
    assert not rows.translated


# --- a person's pages in their language ----------------------------------------------------------


class _VisibleText(HTMLParser):
    """The text a person reads: text nodes outside scripts, styles, templates and icons, plus
    the words on buttons and inputs (value, placeholder) and the titles shown on hover."""

    HIDDEN = {"script", "style", "template", "noscript"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
            "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.nodes: list[str] = []
        self._hidden: list[str] = []  # the hidden element and the tags open inside it

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if self._hidden:
            if tag not in self.VOID:
                self._hidden.append(tag)
            return
        # An icon's text is its name in the icon font ("anchor", "approval"): drawn, never read.
        if tag in self.HIDDEN or "material-symbols" in (attributes.get("class") or ""):
            if tag not in self.VOID:
                self._hidden = [tag]
            return
        if tag == "input" and attributes.get("type") in ("submit", "button"):
            self._add(attributes.get("value") or "")
        for name in ("placeholder", "title", "aria-label"):
            self._add(attributes.get(name) or "")

    def handle_endtag(self, tag):
        if tag in self._hidden:
            while self._hidden.pop() != tag:
                pass

    def handle_data(self, data):
        if not self._hidden:
            self._add(data)

    def _add(self, text: str):
        text = " ".join(text.split())
        if text:
            self.nodes.append(text)


def visible_text(html: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(html)
    return parser.nodes


PLACEHOLDER = re.compile(r"%\(\w+\)[sdrf]|%[sd]|\{\w*\}")
TAG = re.compile(r"<[^>]+>")


def _literal(text: str) -> str:
    return " ".join(TAG.sub(" ", text).split())


class Untranslated:
    """Our message ids whose English must not show on a page in `language`: those with no
    translation yet, and those translated into something other than the English."""

    def __init__(self, language: str):
        self.whole: set[str] = set()  # short ids: matched against whole text nodes
        self.patterns: list[tuple[str, re.Pattern]] = []  # longer ones: anywhere in the page
        for m in po_read(po_path(language)):
            if m.translated and all(_literal(t) == _literal(m.msgid) for t in m.msgstr.values()):
                continue  # the same in both languages ("Pomelo", "ID")
            for msgid in filter(None, (m.msgid, m.msgid_plural)):
                self._add(msgid)

    def _add(self, msgid: str):
        text = _literal(msgid)
        chunks = [c.strip() for c in PLACEHOLDER.split(text)]
        letters = sum(len(re.findall(r"[A-Za-z]", c)) for c in chunks)
        if letters < 3:
            return  # nothing a reader would recognise as English ("%(given)s of %(required)s")
        if len(chunks) == 1 and len(text.split()) <= 3:
            self.whole.add(text)
            return
        if max(len(c) for c in chunks) < 12:
            return  # too little fixed text to tell English from data
        body = r".{0,200}?".join(re.escape(c) for c in chunks if c)
        self.patterns.append((msgid, re.compile(r"(?<!\w)" + body + r"(?!\w)")))

    def found_in(self, nodes: list[str]) -> set[str]:
        page = " ".join(nodes)
        found = {node for node in nodes if node in self.whole}
        # A short id inside a node with a colon or a count beside it ("Outcome: 3").
        found |= {node.rsplit(":", 1)[0] for node in nodes if node.rsplit(":", 1)[0] in self.whole}
        found |= {msgid for msgid, pattern in self.patterns if pattern.search(page)}
        return found


ROLE_USERS = {"Support agent": "agent", "Approver": "approver", "Finance auditor": "auditor",
              "Administrator": "admin"}


@pytest.fixture
def people(make_staff):
    """The roles' people under names that are no English word: a username is data, and
    "approver" would read as our message of that name left untranslated."""
    return {key: make_staff(username, role) for key, username, role in [
        ("agent", "lucia.perez", "Support agent"), ("approver", "mateo.silva", "Approver"),
        ("auditor", "camila.rocha", "Finance auditor"), ("admin", "joao.lima", "Administrator"),
    ]}


@pytest.fixture
def demo(people, member, webhook):
    """One of everything a page lists: adjustments in several states with their approvals and
    audit, a balance check, a reconciliation with a drifting account, a bulk batch, the chain's
    anchor and verification, deliveries, sign-in lockouts."""
    content = (b"pomelo_user_id,card_id,account_type,direction,amount,reason_code,reason_text\n"
               b"usr-1,,points,credit,3.00,goodwill,campaign\n"
               b"usr-404,,points,credit,3.00,goodwill,campaign\n")
    preview = bulk_file_preview(maker=people["agent"], file_name="campaign.csv", content=content)
    bulk_batch_create(maker=people["agent"], file_name="campaign.csv", content=content,
                      previewed_digest=preview.digest)
    pending = make_request(people["agent"], member, reason_text="late delivery")
    approved = make_request(people["agent"], member, direction="debit", amount="5.00",
                            reason_code="correction", reason_text="double credit")
    adjustment_approve(adjustment_id=approved.pk, approver=people["approver"], comment="checked")
    BalanceSnapshot.objects.create(member=member, balances={"points": "90"},
                                   ledger_balances={"points": "100.00"}, requested_by=people["agent"])
    account = RewardAccount.objects.get(member=member, account_type="points")
    run = ReconciliationRun.objects.create(status="finished", members_checked=1, accounts_drifting=1)
    ReconciliationResult.objects.create(
        run=run, member=member, account_type="points", account=account,
        ledger_available=Decimal("100.00"), pomelo_available=Decimal("90.00"),
        difference=Decimal("10.00"), drifting=True)
    chain_anchor_take(reason=ChainAnchor.Reason.MANUAL)
    chain_verification_run()
    AccessAttempt.objects.create(username="someone", ip_address="10.0.0.9", failures_since_start=5,
                                 user_agent="test", path_info="/admin/login/")
    AccessLog.objects.create(username="agent", ip_address="10.0.0.9", user_agent="test",
                             path_info="/admin/login/")
    return {"member": member, "pending": pending, "approved": approved}


def pages_of(user, demo) -> list[str]:
    """Every admin page `user` can open: the home, each sidebar link, every list they may view
    with the page of its first record, the member's pages, the adjustment decisions, the bulk
    upload and the language page."""
    request = RequestFactory().get("/admin/")
    request.user = user
    urls = [reverse("admin:index"), reverse("admin:preferences")]
    urls += [str(item["link"]) for group in sidebar_navigation() for item in group["items"]
             if "permission" not in item or item["permission"](request)]
    for model, model_admin in admin.site._registry.items():
        if not model_admin.has_view_permission(request):
            continue
        opts = model._meta
        urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        first = model_admin.get_queryset(request).order_by("pk").first()
        if first is not None:
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk]))
    member, pending = demo["member"], demo["pending"]
    if user.has_perm("rewards.add_adjustment"):
        urls += [reverse("admin:accounts_member_request_credit", args=[member.pk]),
                 reverse("admin:accounts_member_request_debit", args=[member.pk]),
                 reverse("admin:bulk_adjustments_bulkbatch_upload")]
    if user.has_perm("rewards.approve_adjustment"):
        urls.append(reverse("admin:rewards_adjustment_review", args=[pending.pk]))
    if pending.maker_id == user.pk:
        urls.append(reverse("admin:rewards_adjustment_cancel", args=[pending.pk]))
    return list(dict.fromkeys(urls))


def _pages_in(client, user, demo, language: str) -> dict[str, list[str]]:
    user_language_set(user=user, language=language)
    as_user(client, user)
    shown = {}
    for url in pages_of(user, demo):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert response.headers["Content-Language"] == language, url
        shown[url] = visible_text(response.content.decode())
    return shown


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_page_of_each_role_opens_in_english(client, people, demo, role):
    user = people[ROLE_USERS[role]]
    shown = _pages_in(client, user, demo, "en")
    assert len(shown) > 5
    home = " ".join(shown[reverse("admin:index")])
    assert "Operations" in home and "Log out" in home


@pytest.mark.parametrize("language", sorted(LANGUAGES))
@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_page_of_each_role_is_translated(client, people, demo, role, language):
    """Fails, page by page, on any English message of ours left on a Spanish or Portuguese page
    (until the catalogues are filled, that is most of them)."""
    user = people[ROLE_USERS[role]]
    untranslated = Untranslated(language)
    shown = _pages_in(client, user, demo, language)
    problems = {url: sorted(found) for url, nodes in shown.items() if (found := untranslated.found_in(nodes))}
    assert not problems, "English left on the pages:\n" + "\n".join(
        f"{url}: {found[:8]}{' …' if len(found) > 8 else ''}" for url, found in problems.items())


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_the_check_finds_english_left_on_a_page(language):
    """The page check is able to fail: a sidebar title left in English, a sentence with its
    placeholder filled in and a short id before a colon are caught; the translation, data and
    scripts are not."""
    untranslated = Untranslated(language)
    untranslated.whole.add("Credit")
    untranslated._add("Adjustment #%(pk)s rejected. Nothing was sent to Pomelo.")
    with translation.override(language):
        operations = translation.gettext("Operations")
    assert operations != "Operations"  # translated in both catalogues (a sidebar title)
    nodes = visible_text(
        f'<nav><h2>Operations</h2><h2>{operations}</h2></nav><ul class="messagelist"><li>'
        'Adjustment #42 rejected. Nothing was sent to Pomelo.</li></ul><p>Credit: 3</p>'
        '<script>var t = "Members";</script><td>María Pérez</td>')
    found = untranslated.found_in(nodes)
    assert found == {"Operations", "Credit", "Adjustment #%(pk)s rejected. Nothing was sent to Pomelo."}


def test_a_spanish_page_shows_our_translations_and_djangos(client, people, demo):
    user_language_set(user=people["agent"], language="es")
    page = as_user(client, people["agent"]).get(reverse("admin:index"))
    text = " ".join(visible_text(page.content.decode()))
    assert "Operaciones" in text and "Miembros" in text  # ours (the sidebar)
    assert "Cerrar sesión" in text  # Django's admin catalogue
    assert "Idioma" in text  # the user menu's link to the language page


def test_icon_names_scripts_and_void_tags_are_not_read_as_text():
    html = ('<p>Ledger <span class="material-symbols-outlined">anchor</span> entries</p>'
            '<script>var approval = "approval";</script><input type="submit" value="Save"><br>'
            '<span class="material-symbols-outlined"><b>approval</b></span><em>after</em>')
    assert visible_text(html) == ["Ledger", "entries", "Save", "after"]
