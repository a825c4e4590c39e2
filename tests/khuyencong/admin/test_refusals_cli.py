"""Refusals through the CLI: a clear Vietnamese message naming the rule, the field and the
legal basis; the stable type for scripts; exit 3. Bad input exits 2 before anything is sent;
an unknown official or đề án exits 4. Four-eyes follows the person across a change of role;
a deactivated official can do nothing, whatever client they use."""

from __future__ import annotations

from datetime import timedelta

import pytest
import pytest_asyncio

from domain.model import DeAnDossier, Role
from domain.stages import Stage
from khuyencong.admin.errors import ActionRefused
from tests.khuyencong.admin.conftest import (
    PASSWORD,
    Cast,
    Cli,
    Stack,
    add_cast,
    ensure_password,
    suffix,
    today,
)
from tests.support.builders import dossier_on
from workflows.de_an_contract import (
    DeAnAppraise,
    DeAnApprove,
    DeAnConfirmProgress,
    DeAnReportProgress,
    DeAnRequestAdvance,
    DeAnSignContract,
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cast(stack: Stack) -> Cast:
    return await add_cast(stack.admin, suffix())


async def registered(stack: Stack, cast: Cast) -> DeAnDossier:
    dossier = dossier_on(today(), code=stack.new_code("DP"))
    await stack.admin.register(cast["TT-BG"], dossier, today())
    return dossier


async def appraised(stack: Stack, cast: Cast) -> DeAnDossier:
    dossier = await registered(stack, cast)
    await stack.admin.act(
        dossier.code,
        DeAnAppraise(
            actor=cast["SO-BG"], verdict="pass", appraised_on=today(), minutes_number="01/BB"
        ),
    )
    return dossier


def appraise_args(code: str) -> list[str]:
    day = today().isoformat()
    return ["de-an", "appraise", code, "--verdict", "pass", "--appraised-on", day,
            "--minutes-number", "12/BB-HĐTĐ"]  # fmt: skip


async def test_a_so_of_another_province_is_refused_with_the_rule_the_field_and_the_legal_basis(
    stack: Stack, cast: Cast, cli: Cli
) -> None:
    dossier = await registered(stack, cast)
    run = await cli(*appraise_args(dossier.code), as_=cast["SO-BN"].official_id)
    assert run.exit_code == 3, str(run)
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert lines[0] == "Bị từ chối — Ngoài địa bàn quản lý [WrongJurisdiction]"
    assert "Sở Công Thương tỉnh Bắc Ninh" in lines[1] and "tỉnh Bắc Giang" in lines[1]
    assert "  Trường: actor.province" in lines
    assert any(line.startswith("  Căn cứ: Nghị định 45/2012/NĐ-CP") for line in lines)
    view = await stack.admin.show(dossier.code)
    assert view.row.stage is Stage.REGISTERED
    assert [e.action for e in view.timeline] == ["register"]


async def test_json_refusals_give_scripts_the_stable_type(
    stack: Stack, cast: Cast, cli: Cli
) -> None:
    dossier = await registered(stack, cast)
    run = await cli(*appraise_args(dossier.code), "--json", as_=cast["UBND-BG"].official_id)
    assert run.exit_code == 3
    refused = run.json()["refused"]
    assert refused["type"] == "WrongAuthority"
    assert refused["rule"] == "Không đúng thẩm quyền (vai trò)"
    assert refused["field"] == "actor.role"
    assert "thẩm quyền thuộc: Sở Công Thương" in refused["message"]
    assert refused["legal_basis"].startswith("Thông tư 36/2013/TT-BCT")


async def test_an_action_out_of_turn_is_refused_naming_what_is_possible(
    stack: Stack, cast: Cast, cli: Cli
) -> None:
    dossier = await registered(stack, cast)
    run = await cli("de-an", "approve", dossier.code, "--decision-number", "427/QĐ-UBND",
                    "--decision-date", today().isoformat(), "--signer", "Lê Ánh Dương",
                    "--approved-support", "200000000", as_=cast["UBND-BG"].official_id)  # fmt: skip
    assert run.exit_code == 3
    assert "[WrongStage]" in run.stderr and "có thể: Thẩm định" in run.stderr


@pytest.mark.parametrize(
    ("options", "field", "says"),
    [
        (["--decision-number", "427-QĐ-UBND"], "decision_number", "số/ký hiệu"),
        (["--approved-support", "200.000.000,5"], "approved_support", "số nguyên đồng"),
        (["--decision-date", "31/02/2026"], "decision_date", "date"),
        (["--decision-date", "FUTURE"], "decision_date", "ở tương lai"),
        (["--signer", ""], "signer", "at least 1 character"),
    ],
    ids=["decision-number", "amount", "date", "future-date", "signer"],
)
async def test_malformed_input_exits_2_naming_the_field_and_sends_nothing(
    stack: Stack, cast: Cast, cli: Cli, options: list[str], field: str, says: str
) -> None:
    dossier = await appraised(stack, cast)
    given = {
        "--decision-number": "427/QĐ-UBND",
        "--decision-date": today().isoformat(),
        "--signer": "Lê Ánh Dương",
        "--approved-support": "200000000",
    }
    value = options[1] if options[1] != "FUTURE" else (today() + timedelta(days=2)).isoformat()
    given[options[0]] = value
    args = [part for pair in given.items() for part in pair]
    run = await cli("de-an", "approve", dossier.code, *args, as_=cast["UBND-BG"].official_id)
    assert run.exit_code == 2, str(run)
    assert run.stderr.startswith("Dữ liệu không hợp lệ")
    assert f"  {field}: " in run.stderr and says in run.stderr
    assert (await stack.admin.show(dossier.code)).row.stage is Stage.APPRAISED


async def test_a_missing_field_is_named_and_json_lists_the_problems(cli: Cli) -> None:
    run = await cli("de-an", "settle", "DP-ANY", "--json", as_="nobody")
    assert run.exit_code == 2
    body = run.json()
    assert body["error"] == "BadInput"
    assert {p["field"] for p in body["problems"]} == {"settlement_number", "settled_on"}


async def test_unknown_officials_and_de_an_exit_4_and_no_official_exits_2(
    stack: Stack, cast: Cast, cli: Cli
) -> None:
    dossier = await registered(stack, cast)
    run = await cli(*appraise_args(dossier.code), as_="KHONG-CO-AI")
    assert (run.exit_code, run.stderr.strip()) == (4, "không có cán bộ mã KHONG-CO-AI")
    run = await cli(*appraise_args("DP-KHONG-CO"), as_=cast["SO-BG"].official_id)
    assert (run.exit_code, run.stderr.strip()) == (4, "không có đề án DP-KHONG-CO")
    run = await cli(*appraise_args(dossier.code))
    assert run.exit_code == 2 and "--as" in run.stderr


async def test_four_eyes_follows_the_person_across_a_change_of_role(
    stack: Stack, cast: Cast, cli: Cli
) -> None:
    """An official of the Sở appraises, moves to the UBND and may not approve what they
    appraised; the UBND chairman who approved moves to finance and may not pay it."""
    tag = suffix()
    appraiser, approver = f"SO-MOVE-{tag}", f"UBND-MOVE-{tag}"
    await cli.ok("officials", "add", appraiser, "--name", "Trần Văn Minh", "--role",
                 "so_cong_thuong", "--organisation", "Sở Công Thương tỉnh Bắc Giang",
                 "--province", "Bắc Giang")  # fmt: skip
    await cli.ok("officials", "add", approver, "--name", "Lê Ánh Dương", "--role", "ubnd_tinh",
                 "--organisation", "UBND tỉnh Bắc Giang", "--province", "Bắc Giang")  # fmt: skip
    dossier = await registered(stack, cast)
    day, iso = today(), today().isoformat()
    await cli.ok(*appraise_args(dossier.code), as_=appraiser)
    await cli.ok("officials", "update", appraiser, "--role", "ubnd_tinh",
                 "--organisation", "UBND tỉnh Bắc Giang")  # fmt: skip
    approve = ["de-an", "approve", dossier.code, "--decision-number", "427/QĐ-UBND",
               "--decision-date", iso, "--signer", "Trần Văn Minh",
               "--approved-support", "200000000"]  # fmt: skip
    run = await cli(*approve, as_=appraiser)
    assert run.exit_code == 3
    assert "Nguyên tắc bốn mắt [FourEyesViolation]" in run.stderr
    assert "Trần Văn Minh đã đăng ký hoặc thẩm định đề án này" in run.stderr
    inbox = await stack.admin.inbox(await stack.admin.acting(appraiser))
    waiting = {item.code: [a.action.value for a in item.actions] for item in inbox}
    assert waiting[dossier.code] == ["reject"]  # rejecting is not barred by four-eyes

    await cli.ok(*approve, as_=approver)
    admin, code = stack.admin, dossier.code
    await admin.act(code, DeAnSignContract(actor=cast["SO-BG"], contract_number="15/HĐ-KC", signed_on=day, contracted_support=200_000_000))  # fmt: skip
    month = day.strftime("%Y-%m")
    await admin.act(code, DeAnReportProgress(actor=cast["TT-BG"], month=month, investment_done_bp=8000, spent_cost=450_000_000, reported_on=day))  # fmt: skip
    await admin.act(code, DeAnConfirmProgress(actor=cast["SO-BG"], month=month, confirmed_on=day))  # fmt: skip
    await admin.act(code, DeAnRequestAdvance(actor=cast["TT-BG"], amount=100_000_000, requested_on=day))  # fmt: skip
    await cli.ok("officials", "update", approver, "--role", "tai_chinh",
                 "--organisation", "Phòng Kế hoạch – Tài chính Bắc Giang")  # fmt: skip
    pay = ["de-an", "pay-advance", code, "--request-no", "1", "--paid-on", iso,
           "--voucher-number", "UNC-01", "--json"]  # fmt: skip
    run = await cli(*pay, as_=approver)
    assert run.exit_code == 3
    assert run.json()["refused"]["type"] == "FourEyesViolation"
    inbox = await admin.inbox(await admin.acting(approver))
    assert all(item.code != code for item in inbox)
    ok = await cli.ok(*pay, as_=cast["KT-BG"].official_id)
    assert ok.json()["result"]["advanced"] == 100_000_000


async def test_a_deactivated_official_is_refused_by_the_cli_and_by_the_workflow_itself(
    stack: Stack, cast: Cast, cli: Cli
) -> None:
    tag = suffix()
    leaving = f"SO-LEFT-{tag}"
    await cli.ok("officials", "add", leaving, "--name", "Đỗ Văn Giang", "--role",
                 "so_cong_thuong", "--organisation", "Sở Công Thương tỉnh Bắc Giang",
                 "--province", "Bắc Giang")  # fmt: skip
    await ensure_password(stack.admin.pool, leaving)
    actor = await stack.admin.authenticate(leaving, PASSWORD)
    dossier = await registered(stack, cast)

    run = await cli.ok("officials", "deactivate", leaving, "--reason", "Nghỉ hưu", "--json")
    report = run.json()
    assert report["official"]["active"] is False
    assert report["official"]["deactivation_reason"] == "Nghỉ hưu"
    assert dossier.workflow_id in report["signalled"]

    run = await cli(*appraise_args(dossier.code), as_=leaving)
    assert run.exit_code == 3
    assert "Cán bộ đã bị vô hiệu hoá [InactiveOfficial]" in run.stderr
    run = await cli("inbox", as_=leaving)
    assert run.exit_code == 3

    # A client that skips the register (a script holding the old Actor) gets nowhere either.
    with pytest.raises(ActionRefused) as refused:
        await stack.admin.act(
            dossier.code,
            DeAnAppraise(actor=actor, verdict="pass", appraised_on=today(), minutes_number="9/BB"),
        )
    assert refused.value.type == "InactiveOfficial"
    assert refused.value.info.field == "actor.official_id"

    listed = (await cli.ok("officials", "list", "--role", "so_cong_thuong", "--json")).json()
    assert leaving not in {o["id"] for o in listed}
    everyone = (await cli.ok("officials", "list", "--all", "--json")).json()
    assert leaving in {o["id"] for o in everyone}
    run = await cli("officials", "update", leaving, "--name", "X")
    assert run.exit_code == 3


async def test_an_official_whose_role_and_province_do_not_fit_is_not_added(cli: Cli) -> None:
    run = await cli("officials", "add", f"CUC-{suffix()}", "--name", "A", "--role", "cuc",
                    "--organisation", "Cục", "--province", "Bắc Giang")  # fmt: skip
    assert run.exit_code == 2
    assert "không gắn với tỉnh" in run.stderr
    run = await cli("officials", "add", f"SO-{suffix()}", "--name", "A", "--role",
                    Role.SO_CONG_THUONG.value, "--organisation", "Sở")  # fmt: skip
    assert run.exit_code == 2 and "phải ghi tỉnh" in run.stderr
    official_id = f"TT-{suffix()}"
    args = ["officials", "add", official_id, "--name", "A", "--role", "trung_tam",
            "--organisation", "Trung tâm", "--province", "Bắc Giang"]  # fmt: skip
    await cli.ok(*args)
    run = await cli(*args)
    assert run.exit_code == 2 and "đã có" in run.stderr
    shown = (await cli.ok("officials", "show", official_id, "--json")).json()
    assert (shown["role"], shown["province"], shown["active"]) == ("trung_tam", "Bắc Giang", True)


async def test_an_approved_support_over_the_cap_is_refused_with_its_legal_basis(
    stack: Stack, cast: Cast
) -> None:
    dossier = await appraised(stack, cast)
    with pytest.raises(ActionRefused) as refused:
        await stack.admin.act(
            dossier.code,
            DeAnApprove(
                actor=cast["UBND-BG"],
                decision_number="427/QĐ-UBND",
                decision_date=today(),
                signer="Lê Ánh Dương",
                approved_support=250_000_000,
            ),
        )
    assert refused.value.type in {"SupportOverRequest", "SupportOverCap"}
    assert refused.value.info.legal_basis
