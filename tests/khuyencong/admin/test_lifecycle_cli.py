"""A national and a provincial đề án from registration to closing through the CLI alone:
officials created with ``officials add``, the dossier registered from a YAML file, every step
taken by the competent official, each step visible at once in ``inbox`` and ``show``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from domain.model import Level, Role
from tests.khuyencong.admin.conftest import BG, Cli, Stack, suffix, today
from tests.support.builders import dossier_on


async def add_official(cli: Cli, official_id: str, role: Role, province: str | None) -> None:
    organisation = {
        Role.TRUNG_TAM: "Trung tâm Khuyến công và Xúc tiến thương mại tỉnh Bắc Giang",
        Role.SO_CONG_THUONG: "Sở Công Thương tỉnh Bắc Giang",
        Role.UBND_TINH: "UBND tỉnh Bắc Giang",
        Role.CUC: "Cục Đổi mới sáng tạo, Chuyển đổi xanh và Khuyến công",
        Role.BO_TRUONG: "Văn phòng Bộ Công Thương",
        Role.TAI_CHINH: "Kế toán" + (f" tỉnh {province}" if province else " Cục"),
    }[role]
    args = ["officials", "add", official_id, "--name", f"Cán bộ {official_id}"]
    args += ["--role", role.value, "--organisation", organisation]
    if province:
        args += ["--province", province]
    await cli.ok(*args)


async def inbox_actions(cli: Cli, official_id: str, code: str) -> list[str]:
    """The actions waiting for the official on this đề án (empty: not in their inbox)."""
    items = (await cli.ok("inbox", "--json", as_=official_id)).json()
    for item in items:
        if item["code"] == code:
            return [a["action"] for a in item["actions"]]
    return []


async def shown(cli: Cli, code: str) -> dict[str, Any]:
    view: dict[str, Any] = (await cli.ok("de-an", "show", code, "--json")).json()
    return view


async def act(cli: Cli, official_id: str, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = (await cli.ok("de-an", *args, "--json", as_=official_id)).json()
    return result


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


async def test_a_provincial_de_an_goes_from_registration_to_closing_through_the_cli(
    stack: Stack, cli: Cli, tmp_path: Path
) -> None:
    tag, day = suffix(), today()
    tt, so, ubnd, kt = (f"{k}-{tag}" for k in ("BG-TTKC", "BG-SCT", "BG-UBND", "BG-KT"))
    await add_official(cli, tt, Role.TRUNG_TAM, BG)
    await add_official(cli, so, Role.SO_CONG_THUONG, BG)
    await add_official(cli, ubnd, Role.UBND_TINH, BG)
    await add_official(cli, kt, Role.TAI_CHINH, BG)
    code = stack.new_code("DP")
    dossier = dossier_on(day, code=code)  # 600 triệu, asks 200 triệu for machinery
    file = write_yaml(tmp_path / "de-an.yaml", dossier.model_dump(mode="json"))

    registered = await act(cli, tt, "register", "--file", str(file))
    assert (registered["status"], registered["stage"]) == ("started", "registered")
    assert await inbox_actions(cli, so, code) == ["appraise"]
    assert await inbox_actions(cli, ubnd, code) == []

    iso = day.isoformat()
    await act(cli, so, "appraise", code, "--verdict", "pass", "--appraised-on", iso,
              "--minutes-number", "12/BB-HĐTĐ", "--by-council")  # fmt: skip
    assert (await shown(cli, code))["row"]["stage"] == "appraised"
    assert await inbox_actions(cli, ubnd, code) == ["approve", "reject"]
    assert await inbox_actions(cli, so, code) == []

    approved = await act(cli, ubnd, "approve", code, "--decision-number", "427/QĐ-UBND",
                         "--decision-date", day.strftime("%d/%m/%Y"), "--signer", "Lê Ánh Dương",
                         "--approved-support", "200.000.000")  # fmt: skip
    assert approved["result"]["approved_support"] == 200_000_000
    assert approved["update_id"].startswith(f"{code}:approve:427/QĐ-UBND:{ubnd}:")
    assert await inbox_actions(cli, so, code) == ["sign_contract"]

    await act(cli, so, "sign-contract", code, "--contract-number", "15/2019/HĐ-KC",
              "--signed-on", iso, "--contracted-support", "200000000")  # fmt: skip
    assert await inbox_actions(cli, tt, code) == ["report_progress"]

    month = day.strftime("%Y-%m")
    await act(cli, tt, "report-progress", code, "--month", month, "--investment-done-bp", "7500",
              "--spent-cost", "450000000", "--reported-on", iso)  # fmt: skip
    assert await inbox_actions(cli, so, code) == ["confirm_progress", "accept"]
    deadlines = (await shown(cli, code))["deadlines"]  # asked of the workflow itself
    settlement = {"kind": "settlement", "ref": str(day.year), "missed": False}
    assert any(settlement.items() <= d.items() for d in deadlines), deadlines
    assert next(d for d in deadlines if d["kind"] == "settlement")["due_date"] == (
        f"{day.year + 1}-01-22"
    )
    await act(cli, so, "confirm-progress", code, "--month", month, "--confirmed-on", iso)

    request = write_yaml(tmp_path / "advance.yaml", {"amount": "140.000.000", "requested_on": iso})
    await act(cli, tt, "request-advance", code, "--file", str(request))
    assert await inbox_actions(cli, kt, code) == ["pay_advance"]
    paid = await act(cli, kt, "pay-advance", code, "--request-no", "1", "--paid-on", iso,
                     "--voucher-number", "UNC-0412")  # fmt: skip
    assert (paid["result"]["advanced"], paid["result"]["paid"]) == (140_000_000, 140_000_000)
    assert await inbox_actions(cli, kt, code) == []

    await act(cli, so, "accept", code, "--minutes-number", "31/BB-NT", "--accepted-on", iso,
              "--accepted-cost", "600000000", "--accepted-volume-bp", "10000")  # fmt: skip
    assert await inbox_actions(cli, tt, code) == ["submit_settlement_dossier"]
    assert await inbox_actions(cli, so, code) == []  # settles once the dossier is in
    await act(cli, tt, "submit-settlement-dossier", code, "--submitted-on", iso)
    assert await inbox_actions(cli, so, code) == ["settle"]

    settled = await act(cli, so, "settle", code, "--settlement-number", "44/BB-QT",
                        "--settled-on", iso)  # fmt: skip
    assert settled["result"]["stage"] == "settled"
    assert await inbox_actions(cli, kt, code) == ["pay_settlement"]
    closed = await act(cli, kt, "pay-settlement", code, "--paid-on", iso,
                       "--voucher-number", "UNC-0977")  # fmt: skip
    assert closed["result"]["stage"] == "closed"

    view = await shown(cli, code)
    row = view["row"]
    assert (row["stage"], row["stage_label"]) == ("closed", "Đã thanh lý, kết thúc")
    money = (row["approved_support"], row["advanced"], row["paid"], row["remaining"])
    assert money == (200_000_000, 140_000_000, 200_000_000, 0)
    timeline = [(e["action"], e["actor_official_id"]) for e in view["timeline"]]
    assert timeline == [
        ("register", tt),
        ("appraise", so),
        ("approve", ubnd),
        ("sign_contract", so),
        ("report_progress", tt),
        ("confirm_progress", so),
        ("request_advance", tt),
        ("pay_advance", kt),
        ("accept", so),
        ("submit_settlement_dossier", tt),
        ("settle", so),
        ("pay_settlement", kt),
    ]
    assert view["timeline"][2]["actor_name"] == f"Cán bộ {ubnd}"
    assert view["ui_url"] == (
        f"http://ui.example.test:8233/namespaces/default/workflows/de-an%2F{code}"
    )
    for official in (tt, so, ubnd, kt):
        assert await inbox_actions(cli, official, code) == []

    listed = (await cli.ok("de-an", "list", "--search", code, "--json")).json()
    assert [(r["code"], r["stage"]) for r in listed["items"]] == [(code, "closed")]
    table = (await cli.ok("de-an", "show", code)).stdout
    assert "Đã thanh lý, kết thúc" in table and f"Cán bộ {kt}" in table


async def test_a_national_de_an_goes_through_both_appraisals_to_closing_through_the_cli(
    stack: Stack, cli: Cli, tmp_path: Path
) -> None:
    tag, day = suffix(), today()
    tt, so, cuc, bt, kt = (f"{k}-{tag}" for k in ("BG-TTKC", "BG-SCT", "CUC", "BT", "CUC-KT"))
    await add_official(cli, tt, Role.TRUNG_TAM, BG)
    await add_official(cli, so, Role.SO_CONG_THUONG, BG)
    await add_official(cli, cuc, Role.CUC, None)
    await add_official(cli, bt, Role.BO_TRUONG, None)
    await add_official(cli, kt, Role.TAI_CHINH, None)  # the agency's finance pays national
    code = stack.new_code("QG")
    dossier = dossier_on(
        day, level=Level.QUOC_GIA, code=code, cost=800_000_000, requested_support=300_000_000
    )
    file = write_yaml(tmp_path / "de-an.yaml", {"dossier": dossier.model_dump(mode="json")})
    iso, month = day.isoformat(), day.strftime("%Y-%m")

    await act(cli, tt, "register", "--file", str(file))
    assert await inbox_actions(cli, so, code) == ["appraise"]
    assert await inbox_actions(cli, cuc, code) == []
    await act(cli, so, "appraise", code, "--verdict", "pass", "--appraised-on", iso,
              "--minutes-number", "05/BB-SCT")  # fmt: skip
    assert (await shown(cli, code))["row"]["stage"] == "base_appraised"
    assert await inbox_actions(cli, so, code) == []
    assert await inbox_actions(cli, cuc, code) == ["appraise"]
    await act(cli, cuc, "appraise", code, "--verdict", "pass", "--appraised-on", iso,
              "--minutes-number", "88/BB-CKC", "--by-council")  # fmt: skip
    assert await inbox_actions(cli, bt, code) == ["approve", "reject"]

    await act(cli, bt, "approve", code, "--decision-number", "1234/QĐ-BCT", "--decision-date",
              iso, "--signer", "Bộ trưởng", "--approved-support", "300000000")  # fmt: skip
    assert await inbox_actions(cli, cuc, code) == ["sign_contract"]
    await act(cli, cuc, "sign-contract", code, "--contract-number", "21/2019/HĐ-KCQG",
              "--signed-on", iso, "--contracted-support", "300000000")  # fmt: skip
    await act(cli, tt, "report-progress", code, "--month", month, "--investment-done-bp", "8000",
              "--spent-cost", "640000000", "--reported-on", iso)  # fmt: skip
    await act(cli, so, "confirm-progress", code, "--month", month, "--confirmed-on", iso)
    await act(cli, tt, "request-advance", code, "--amount", "210000000", "--requested-on", iso)
    assert await inbox_actions(cli, kt, code) == ["pay_advance"]
    await act(cli, kt, "pay-advance", code, "--request-no", "1", "--paid-on", iso,
              "--voucher-number", "UNC-QG-1")  # fmt: skip
    assert await inbox_actions(cli, cuc, code) == ["accept"]
    await act(cli, cuc, "accept", code, "--minutes-number", "40/BB-NT", "--accepted-on", iso,
              "--accepted-cost", "800000000", "--accepted-volume-bp", "10000")  # fmt: skip
    await act(cli, tt, "submit-settlement-dossier", code, "--submitted-on", iso)
    assert await inbox_actions(cli, cuc, code) == ["settle"]
    await act(cli, cuc, "settle", code, "--settlement-number", "09/BB-QT-CKC", "--settled-on", iso)
    closed = await act(cli, kt, "pay-settlement", code, "--paid-on", iso,
                       "--voucher-number", "UNC-QG-2")  # fmt: skip
    assert closed["result"]["stage"] == "closed"

    row = (await shown(cli, code))["row"]
    assert (row["stage"], row["paid"], row["remaining"]) == ("closed", 300_000_000, 0)
