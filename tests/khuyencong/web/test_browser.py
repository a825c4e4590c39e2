"""The done-criterion of the web desk in a real browser (Playwright driving Debian's
chromium; nothing is downloaded): the Sở official logs in, finds the đề án in the inbox and
appraises it; the UBND chairman logs in and approves it; both steps are on the đề án's
timeline, which links to its history in the Temporal UI. Every field of both forms has a
label, and the pages fit a 1366×768 laptop and a phone without sideways scrolling.

Also in the browser (issue 12): each role logs in to its own inbox; a provincial đề án goes
from the Đăng ký page to closing, every step on its form from the competent official's inbox,
and PostgreSQL holds each step; a refused approval shows the rule and leaves the Temporal
history, the row and the timeline unchanged; a Sở official opening the approval form gets the
403 authority page; another province's đề án is neither listed nor found and its address
answers 404; a form sent with its CSRF token blanked (or forged) is refused and records
nothing; an appraisal is made with the keyboard alone, every field reached by Tab labelled.

Skipped, saying why, only when ``/usr/bin/chromium`` is absent (``scripts/test.sh`` installs
it with ``apt-get install chromium`` when it runs as root)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright, expect
from temporalio.testing import WorkflowEnvironment

from domain.model import Role
from khuyencong.admin import credentials
from khuyencong.admin.models import OfficialIn
from khuyencong.web.server import web_desk
from tests.khuyencong.web.conftest import (
    BG,
    PASSWORD,
    Desk,
    assert_closed_by_the_cast,
    cast,
    registered,
    suffix,
    today,
)
from tests.support.builders import dossier_on

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="no browser: /usr/bin/chromium is absent (apt-get install chromium; scripts/test.sh "
    "does it when run as root)",
)


@pytest_asyncio.fixture(loop_scope="session")
async def served(desk: Desk) -> AsyncIterator[str]:
    async with web_desk(desk.admin, desk.settings, bind="127.0.0.1:0") as url:
        yield url


@pytest_asyncio.fixture(loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


async def log_in(page: Page, url: str, official_id: str) -> None:
    await page.goto(f"{url}/dang-nhap")
    await page.get_by_label("Mã cán bộ").fill(official_id)
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    await expect(page.get_by_role("heading", name="Việc chờ")).to_be_visible()


async def log_out(page: Page) -> None:
    await page.get_by_role("button", name="Đăng xuất").click()
    await expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()


async def every_field_has_a_label(page: Page) -> None:
    unlabelled = await page.evaluate(
        """() => [...document.querySelectorAll(
                   'form.action input, form.action select, form.action textarea')]
              .filter(e => e.type !== 'hidden')
              .filter(e => !(e.labels && e.labels.length))
              .map(e => e.name)"""
    )
    assert unlabelled == []


async def fits_the_width(page: Page) -> None:
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


async def test_the_so_appraises_from_the_inbox_and_the_chairman_approves_in_a_browser(
    desk: Desk, served: str, browser: Browser
) -> None:
    people = await cast(desk.admin)
    code = await registered(desk, people)
    day = today().strftime("%d/%m/%Y")
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    page = await context.new_page()

    await log_in(page, served, people.so)
    item = page.locator(f'li.item[data-code="{code}"]')
    await item.get_by_role("link", name="Thẩm định", exact=True).click()
    await expect(page.get_by_role("heading", name="Thẩm định")).to_be_visible()
    await every_field_has_a_label(page)
    await page.get_by_label("Kết luận thẩm định").select_option("pass")
    await page.get_by_label("Ngày thẩm định").fill(day)
    await page.get_by_label("Số biên bản").fill("12/BB-HĐTĐ")
    await page.get_by_label("Qua hội đồng thẩm định").check()
    await page.get_by_role("button", name="Thẩm định").click()
    await expect(page.locator("#done")).to_have_text("Đã ghi nhận: Thẩm định.")
    await fits_the_width(page)
    await log_out(page)

    await log_in(page, served, people.ubnd)
    item = page.locator(f'li.item[data-code="{code}"]')
    await item.get_by_role("link", name="Phê duyệt", exact=True).click()
    await every_field_has_a_label(page)
    await page.get_by_label("Số quyết định").fill("427/QĐ-UBND")
    await page.get_by_label("Ngày quyết định").fill(day)
    await page.get_by_label("Người ký quyết định").fill("Lê Ánh Dương")
    # First more than the 200 triệu requested: the rule refuses, on the field, with its basis.
    await page.get_by_label("Kinh phí hỗ trợ phê duyệt").fill("900.000.000")
    await page.get_by_role("button", name="Phê duyệt").click()
    await expect(page.locator("#refusal")).to_contain_text("Căn cứ:")
    await expect(page.locator('[data-field="approved_support"] .field-error')).to_be_visible()
    await page.get_by_label("Kinh phí hỗ trợ phê duyệt").fill("")
    # Keyboard only: Tab from the signer reaches the amount, typed as officials write it.
    await page.get_by_label("Người ký quyết định").press("Tab")
    await page.keyboard.type("200.000.000")
    await page.get_by_label("Kinh phí hỗ trợ phê duyệt").press("Enter")
    await expect(page.locator("#done")).to_have_text("Đã ghi nhận: Phê duyệt.")

    timeline = page.locator("#timeline")
    appraised = timeline.locator('li[data-action="appraise"]')
    approved = timeline.locator('li[data-action="approve"]')
    await expect(appraised).to_contain_text(people.so)
    await expect(approved).to_contain_text(people.ubnd)
    await expect(approved).to_contain_text("427/QĐ-UBND")
    await expect(page.locator("table.money")).to_contain_text("200.000.000 đ")
    link = page.get_by_role("link", name="Lịch sử trên Temporal UI")
    assert await link.get_attribute("href") == (
        f"{desk.settings.ui_url}/namespaces/{desk.admin.namespace}/workflows/de-an%2F{code}"
    )
    await fits_the_width(page)
    await context.close()

    phone = await browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    small = await phone.new_page()
    await log_in(small, served, people.ubnd)
    await small.goto(f"{served}/de-an/{code}")
    await expect(small.locator('#timeline li[data-action="approve"]')).to_be_visible()
    await fits_the_width(small)
    await small.goto(f"{served}/de-an")
    await fits_the_width(small)
    await phone.close()

    view = await desk.admin.show(code)
    assert [e.action for e in view.timeline] == ["register", "appraise", "approve"]
    assert view.row.approved_support == 200_000_000


async def test_another_provinces_de_an_is_not_in_the_list_and_its_address_answers_404(
    desk: Desk, served: str, browser: Browser
) -> None:
    people = await cast(desk.admin)
    code = await registered(desk, people)
    context = await browser.new_context(locale="vi-VN")
    page = await context.new_page()

    await log_in(page, served, people.so_bn)
    await expect(page.locator(f'li.item[data-code="{code}"]')).to_have_count(0)
    await page.get_by_role("link", name="Đề án", exact=True).click()
    await page.get_by_label("Tìm").fill(code)
    await page.get_by_role("button", name="Lọc").click()
    await expect(page.locator("table.list")).to_contain_text("Không có đề án nào khớp bộ lọc.")
    await expect(page.get_by_role("link", name=code)).to_have_count(0)
    for address in (f"/de-an/{code}", f"/de-an/{code}/thao-tac/appraise"):
        answer = await page.goto(f"{served}{address}")
        assert answer is not None and answer.status == 404
        await expect(page.get_by_role("heading", name="Không tìm thấy")).to_be_visible()
        await expect(page.locator("body")).not_to_contain_text(people.tt)
    await log_out(page)

    # The Sở of the đề án's own province finds it by the same search.
    await log_in(page, served, people.so)
    await page.goto(f"{served}/de-an")
    await page.get_by_label("Tìm").fill(code)
    await page.get_by_role("button", name="Lọc").click()
    await expect(page.get_by_role("link", name=code)).to_be_visible()
    await context.close()


async def test_a_so_official_who_opens_the_approval_form_gets_the_authority_page(
    desk: Desk, served: str, browser: Browser
) -> None:
    people = await cast(desk.admin)
    code = await registered(desk, people)
    context = await browser.new_context(locale="vi-VN")
    page = await context.new_page()

    await log_in(page, served, people.so)
    item = page.locator(f'li.item[data-code="{code}"]')
    await expect(item.get_by_role("link", name="Thẩm định", exact=True)).to_be_visible()
    await expect(item.get_by_role("link", name="Phê duyệt", exact=True)).to_have_count(0)
    answer = await page.goto(f"{served}/de-an/{code}/thao-tac/approve")
    assert answer is not None and answer.status == 403
    await expect(page.get_by_role("heading", name="Không đúng thẩm quyền")).to_be_visible()
    await expect(page.locator("#error-message")).to_contain_text("Phê duyệt")
    await expect(page.locator("form.action")).to_have_count(0)
    await context.close()

    view = await desk.admin.show(code)
    assert [e.action for e in view.timeline] == ["register"]


async def test_an_appraisal_sent_with_its_csrf_token_blanked_is_refused_and_nothing_changes(
    desk: Desk, served: str, browser: Browser
) -> None:
    people = await cast(desk.admin)
    code = await registered(desk, people)
    context = await browser.new_context(locale="vi-VN")
    page = await context.new_page()

    await log_in(page, served, people.so)
    await page.goto(f"{served}/de-an/{code}/thao-tac/appraise")
    await page.get_by_label("Kết luận thẩm định").select_option("pass")
    await page.get_by_label("Ngày thẩm định").fill(today().strftime("%d/%m/%Y"))
    await page.get_by_label("Số biên bản").fill("12/BB-HĐTĐ")
    await page.get_by_label("Qua hội đồng thẩm định").check()
    for token in ("", "gia-mao"):
        await page.evaluate(
            """(token) => document.querySelectorAll('form.action input[name="csrf_token"]')
                  .forEach(e => { e.value = token; })""",
            token,
        )
        async with page.expect_response(f"{served}/de-an/{code}/thao-tac/appraise") as sent:
            await page.get_by_role("button", name="Thẩm định").click()
        assert (await sent.value).status == 403
        await expect(page.get_by_role("heading", name="Không được phép")).to_be_visible()
        await expect(page.locator("#error-message")).to_contain_text("CSRF")
        await page.go_back()
    await context.close()

    view = await desk.admin.show(code)
    assert view.row.stage.value == "registered"
    assert [e.action for e in view.timeline] == ["register"]


async def test_each_role_logs_in_and_sees_its_inbox_under_its_name_and_role(
    desk: Desk, served: str, browser: Browser
) -> None:
    people = await cast(desk.admin)
    cuc = f"CUC-{suffix()}"
    await desk.admin.add_official(
        OfficialIn(
            id=cuc,
            full_name=f"Cán bộ {cuc}",
            role=Role.CUC,
            organisation="Cục Công Thương địa phương",
            province=None,
        )
    )
    await credentials.set_password(desk.admin.pool, cuc, PASSWORD, set_by="tests")
    context = await browser.new_context(locale="vi-VN")
    page = await context.new_page()

    for official, role, province in (
        (people.tt, Role.TRUNG_TAM, BG),
        (people.so, Role.SO_CONG_THUONG, BG),
        (people.ubnd, Role.UBND_TINH, BG),
        (people.kt, Role.TAI_CHINH, BG),
        (cuc, Role.CUC, None),
    ):
        await log_in(page, served, official)
        assert page.url == f"{served}/viec-cho"
        who = page.locator("header .who")
        await expect(who.locator(".name")).to_have_text(f"Cán bộ {official}")
        shown = role.label if province is None else f"{role.label} · {province}"
        await expect(who.locator(".role")).to_have_text(shown)
        await expect(page.locator("main .help")).to_contain_text(f"Cán bộ {official}")
        registers = page.get_by_role("navigation", name="Chính").get_by_role("link", name="Đăng ký")
        await expect(registers).to_have_count(1 if role is Role.TRUNG_TAM else 0)
        await log_out(page)
    await context.close()


FieldValue = str | bool


async def fill_and_send(page: Page, code: str, action: str, fields: dict[str, FieldValue]) -> None:
    """On the action's form: find each field by its label, fill it, press the form's button;
    the đề án page confirms the step."""
    await expect(page).to_have_url(f"{page.url.split('/de-an/')[0]}/de-an/{code}/thao-tac/{action}")
    await every_field_has_a_label(page)
    title = (await page.get_by_role("heading", level=1).inner_text()).strip()
    for name, value in fields.items():
        label = await page.locator(f'form.action label[for="f-{name}"]').evaluate(
            """l => [...l.childNodes]
                  .filter(n => !(n.nodeType === 1 && n.getAttribute('aria-hidden')))
                  .map(n => n.textContent).join('').trim()"""
        )
        field = page.locator("form.action").get_by_label(label)  # strict: one field only
        if isinstance(value, bool):
            await field.set_checked(value)
        elif await field.evaluate("e => e.tagName") == "SELECT":
            await field.select_option(value)
        else:
            await field.fill(value)
    await page.locator("form.action").get_by_role("button", name=title, exact=True).click()
    await expect(page.locator("#done")).to_have_text(f"Đã ghi nhận: {title}.")


async def from_inbox(
    page: Page, url: str, official: str, code: str, action: str, **fields: FieldValue
) -> None:
    """Log in, press the action's button on the đề án in the inbox, fill the form, log out."""
    await log_in(page, url, official)
    await page.locator(
        f'li.item[data-code="{code}"] a[href="/de-an/{code}/thao-tac/{action}"]'
    ).click()
    await fill_and_send(page, code, action, fields)
    await log_out(page)


async def test_a_provincial_de_an_goes_from_registration_to_closing_in_the_browser(
    desk: Desk, served: str, browser: Browser
) -> None:
    people = await cast(desk.admin)
    code = f"DP-{suffix()}"
    desk.codes.append(code)
    day = today().strftime("%d/%m/%Y")
    month = today().strftime("%Y-%m")
    context = await browser.new_context(locale="vi-VN")
    page = await context.new_page()

    await log_in(page, served, people.tt)
    await page.get_by_role("navigation", name="Chính").get_by_role("link", name="Đăng ký").click()
    await every_field_has_a_label(page)
    dossier = dossier_on(today(), code=code).model_dump(mode="json")
    await page.get_by_label("Hồ sơ đề án (JSON hoặc YAML)").fill(json.dumps(dossier))
    await page.get_by_role("button", name="Đăng ký", exact=True).click()
    await expect(page).to_have_url(f"{served}/de-an/{code}?da-xong=register")
    await expect(page.locator("#done")).to_be_visible()
    await log_out(page)

    await from_inbox(page, served, people.so, code, "appraise", verdict="pass",
                     appraised_on=day, minutes_number="12/BB-HĐTĐ", by_council=True)  # fmt: skip
    await from_inbox(page, served, people.ubnd, code, "approve", decision_number="427/QĐ-UBND",
                     decision_date=day, signer="Lê Ánh Dương",
                     approved_support="200.000.000")  # fmt: skip
    await from_inbox(page, served, people.so, code, "sign_contract",
                     contract_number="15/2019/HĐ-KC", signed_on=day,
                     contracted_support="200.000.000")  # fmt: skip
    await from_inbox(page, served, people.tt, code, "report_progress", month=month,
                     investment_done_bp="7500", spent_cost="450.000.000",
                     reported_on=day)  # fmt: skip
    await from_inbox(page, served, people.so, code, "confirm_progress", month=month,
                     confirmed_on=day)  # fmt: skip
    # The advance is discretionary: asked from the đề án's page, not the inbox.
    await log_in(page, served, people.tt)
    await page.goto(f"{served}/de-an/{code}")
    await page.locator(f'.actions a[href="/de-an/{code}/thao-tac/request_advance"]').click()
    await fill_and_send(page, code, "request_advance",
                        {"amount": "140.000.000", "requested_on": day})  # fmt: skip
    await log_out(page)
    await from_inbox(page, served, people.kt, code, "pay_advance", request_no="1",
                     paid_on=day, voucher_number="UNC-0412")  # fmt: skip
    await from_inbox(page, served, people.so, code, "accept", minutes_number="31/BB-NT",
                     accepted_on=day, accepted_cost="600.000.000",
                     accepted_volume_bp="10000")  # fmt: skip
    await from_inbox(page, served, people.tt, code, "submit_settlement_dossier",
                     submitted_on=day)  # fmt: skip
    await from_inbox(page, served, people.so, code, "settle", settlement_number="44/BB-QT",
                     settled_on=day)  # fmt: skip
    await log_in(page, served, people.kt)
    await page.locator(
        f'li.item[data-code="{code}"] a[href="/de-an/{code}/thao-tac/pay_settlement"]'
    ).click()
    await fill_and_send(page, code, "pay_settlement",
                        {"paid_on": day, "voucher_number": "UNC-0977"})  # fmt: skip
    await expect(page.locator(".stage-line .stage")).to_have_text("Đã thanh lý, kết thúc")
    await expect(page.locator("#timeline li[data-action]")).to_have_count(12)
    await page.get_by_role("navigation", name="Chính").get_by_role("link", name="Việc chờ").click()
    await expect(page.locator(f'li.item[data-code="{code}"]')).to_have_count(0)
    await context.close()

    view = await desk.admin.show(code)  # the row and the timeline, as PostgreSQL holds them
    assert_closed_by_the_cast(view, people)


async def history_length(env: WorkflowEnvironment, code: str) -> int:
    history = await env.client.get_workflow_handle(f"de-an/{code}").fetch_history()
    return len(history.events)


async def test_a_refused_approval_shows_the_rule_and_changes_neither_history_nor_rows(
    desk: Desk, served: str, browser: Browser, dev_env: WorkflowEnvironment
) -> None:
    people = await cast(desk.admin)
    code = await registered(desk, people)
    context = await browser.new_context(locale="vi-VN")
    page = await context.new_page()
    await from_inbox(page, served, people.so, code, "appraise", verdict="pass",
                     appraised_on=today().strftime("%d/%m/%Y"),
                     minutes_number="12/BB-HĐTĐ", by_council=True)  # fmt: skip
    before = (await history_length(dev_env, code), await desk.admin.show(code))

    await log_in(page, served, people.ubnd)
    await (
        page.locator(f'li.item[data-code="{code}"]')
        .get_by_role("link", name="Phê duyệt", exact=True)
        .click()
    )
    await page.get_by_label("Số quyết định").fill("427/QĐ-UBND")
    await page.get_by_label("Ngày quyết định").fill(today().strftime("%d/%m/%Y"))
    await page.get_by_label("Người ký quyết định").fill("Lê Ánh Dương")
    await page.get_by_label("Kinh phí hỗ trợ phê duyệt").fill("900.000.000")  # > 200 triệu asked
    async with page.expect_response(f"{served}/de-an/{code}/thao-tac/approve") as sent:
        await page.get_by_role("button", name="Phê duyệt").click()
    assert (await sent.value).status == 409
    refusal = page.locator("#refusal")
    await expect(refusal.get_by_role("heading")).to_contain_text("Không thực hiện được:")
    await expect(refusal.locator(".basis")).to_contain_text("Căn cứ:")
    await expect(refusal).to_contain_text("Không có gì thay đổi.")
    await expect(page.locator('[data-field="approved_support"] .field-error')).to_be_visible()
    await expect(page.get_by_label("Kinh phí hỗ trợ phê duyệt")).to_have_value("900.000.000")
    await page.goto(f"{served}/de-an/{code}")
    await expect(page.locator("#timeline li[data-action]")).to_have_count(2)
    await expect(page.locator('#timeline li[data-action="approve"]')).to_have_count(0)
    await context.close()

    after = (await history_length(dev_env, code), await desk.admin.show(code))
    assert after[0] == before[0]  # a refused update leaves no event in the history
    assert after[1].row == before[1].row
    assert after[1].timeline == before[1].timeline
    assert [e.action for e in after[1].timeline] == ["register", "appraise"]


async def test_an_appraisal_can_be_made_with_the_keyboard_alone(
    desk: Desk, served: str, browser: Browser
) -> None:
    people = await cast(desk.admin)
    code = await registered(desk, people)
    context = await browser.new_context(locale="vi-VN")
    page = await context.new_page()
    await page.goto(f"{served}/dang-nhap")
    await page.get_by_label("Mã cán bộ").focus()
    await page.keyboard.type(people.so)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Việc chờ")).to_be_visible()

    await page.locator(f'li.item[data-code="{code}"] a[href$="/thao-tac/appraise"]').focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Thẩm định")).to_be_visible()
    await every_field_has_a_label(page)
    # Tab walks the form's fields in order; each one reached has its label.
    names = await page.evaluate(
        """() => [...document.querySelectorAll(
                   'form.action input, form.action select, form.action textarea')]
              .filter(e => e.type !== 'hidden').map(e => e.name)"""
    )
    await page.locator("form.action").locator(f'[name="{names[0]}"]').focus()
    reached = []
    for _ in names:
        reached.append(
            await page.evaluate(
                "() => [document.activeElement.name, document.activeElement.labels.length]"
            )
        )
        await page.keyboard.press("Tab")
    assert reached == [[n, 1] for n in names]

    typed = {
        "appraised_on": today().strftime("%d/%m/%Y"),
        "minutes_number": "12/BB-HĐTĐ",
    }
    for name in names:
        await page.locator("form.action").locator(f'[name="{name}"]').focus()
        if name == "verdict":
            await page.keyboard.press("End")  # the last choice, then back to the first
            await expect(page.get_by_label("Kết luận thẩm định")).not_to_have_value("pass")
            await page.keyboard.press("Home")
            await expect(page.get_by_label("Kết luận thẩm định")).to_have_value("pass")
        elif name == "by_council":
            await page.keyboard.press("Space")
        elif name in typed:
            await page.keyboard.type(typed[name])
    await page.get_by_role("button", name="Thẩm định").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#done")).to_have_text("Đã ghi nhận: Thẩm định.")
    await context.close()

    view = await desk.admin.show(code)
    assert [e.action for e in view.timeline] == ["register", "appraise"]
