"""The role × action matrix as a bilingual document, generated from the code.

``docs/officials.md`` is the output of :func:`render_officials_doc` (``khuyencong officials
matrix > docs/officials.md``); a test fails when the file and the code disagree, so the
document officials read is the rule the workflow enforces.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from domain.authority import (
    BASIS_ADJUST,
    BASIS_APPROVAL_LOCAL,
    BASIS_APPROVAL_NATIONAL,
    BASIS_PROCESS,
    AdjustmentKind,
    adjustment_deciders,
    appraisers,
    roles_for,
)
from domain.model import (
    CENTRAL_ROLES,
    Beneficiary,
    BeneficiaryType,
    ContentArea,
    CostLine,
    DeAnDossier,
    Level,
    Role,
    Schedule,
)
from domain.stages import Action, Stage, allowed_actions
from workflows.de_an_actions import CATALOGUE, ActionDefinition, Authority, definition

ROLE_EN: dict[Role, str] = {
    Role.TRUNG_TAM: "Industrial-promotion centre (implementing unit)",
    Role.SO_CONG_THUONG: "Provincial Department of Industry and Trade",
    Role.CUC: "MOIT agency (Cục)",
    Role.BO_TRUONG: "Minister of Industry and Trade",
    Role.UBND_TINH: "Chairman of the provincial People's Committee",
    Role.TAI_CHINH: "Finance / accounting",
}

ROLE_SHORT: dict[Role, str] = {
    Role.TRUNG_TAM: "Trung tâm",
    Role.SO_CONG_THUONG: "Sở Công Thương",
    Role.CUC: "Cục",
    Role.BO_TRUONG: "Bộ trưởng",
    Role.UBND_TINH: "Chủ tịch UBND tỉnh",
    Role.TAI_CHINH: "Tài chính",
}

ACTION_EN: dict[Action, str] = {
    Action.REGISTER: "Register",
    **{definition.action: definition.label_en for definition in CATALOGUE},
    Action.DEADLINE_MISSED: "Deadline missed (system)",
}
"""English labels: the registration, every official action of the catalogue, the system's."""

ADJUSTMENT_EN: dict[AdjustmentKind, str] = {
    AdjustmentKind.INCREASE_SUPPORT: "Higher total support",
    AdjustmentKind.CHANGE_ACTIVITY: "Change of activity",
    AdjustmentKind.EXTEND_NEXT_YEAR: "Extension into the next year",
    AdjustmentKind.CHANGE_SITE: "Change of site",
    AdjustmentKind.CHANGE_BENEFICIARY: "Change of beneficiary",
    AdjustmentKind.CHANGE_PARTNER: "Change of partner",
    AdjustmentKind.CHANGE_TIMING: "Change of timing within the year",
    AdjustmentKind.DECREASE_SUPPORT: "Lower support",
}

ACTIONS_IN_DOC = [Action.REGISTER, *(definition.action for definition in CATALOGUE)]
"""The registration (the workflow's start), then each update in the catalogue's order."""


def sample_dossier(level: Level, *, group_project: bool = False) -> DeAnDossier:
    """A dossier whose only meaningful fields are level and group_project (what the
    authority rules read)."""
    return DeAnDossier(
        code="DOC-SAMPLE",
        title="—",
        level=level,
        province="—",
        content_area=ContentArea.MO_HINH_MAY_MOC,
        support_item="machinery",
        beneficiary=Beneficiary(name="—", type=BeneficiaryType.HOP_TAC_XA, tax_code="0000000000"),
        implementing_unit="—",
        plan_year=2020,
        schedule=Schedule(start=date(2020, 1, 1), end=date(2020, 12, 31)),
        cost_lines=[CostLine(description="—", amount=1)],
        requested_support=0,
        counterpart_funds=1,
        group_project=group_project,
    )


def _roles(roles: Iterable[Role]) -> str:
    chosen = [r for r in Role if r in set(roles)]
    if not chosen:
        return "—"
    return ", ".join(f"{ROLE_SHORT[r]} (`{r.value}`)" for r in chosen)


def _command(action: Action) -> str:
    if action is Action.REGISTER:
        return "de-an register"
    return f"de-an {definition(action).cli_name}"


def _by_level(vi: str, en: str, roles: Callable[[Level], frozenset[Role]]) -> tuple[str, ...]:
    return (vi, en, _roles(roles(Level.QUOC_GIA)), _roles(roles(Level.DIA_PHUONG)))


def _rows_of(entry: ActionDefinition[Any]) -> list[tuple[str, ...]]:
    """An action's rows: who may send it by level, as its definition reads the authority."""
    command = _command(entry.action)
    if entry.authority is Authority.BY_STAGE:
        base, second = Stage.REGISTERED, Stage.BASE_APPRAISED
        return [
            (
                f"Thẩm định cấp cơ sở / cấp tỉnh (`{command}`, giai đoạn `{base.value}`)",
                "Base (provincial) appraisal",
                _roles(appraisers(base, Level.QUOC_GIA)),
                _roles(appraisers(base, Level.DIA_PHUONG)),
            ),
            (
                f"Thẩm định cấp Bộ (`{command}`, giai đoạn `{second.value}`)",
                "Ministry appraisal",
                _roles(appraisers(second, Level.QUOC_GIA)),
                "— (một cấp thẩm định / one appraisal)",
            ),
        ]
    vi = f"{entry.label} (`{command}`)"
    if entry.authority is Authority.BY_KIND:
        return [
            (vi, entry.label_en, "theo loại, xem dưới / by kind, see below", "theo loại / by kind")
        ]
    return [_by_level(vi, entry.label_en, entry.roles_by_level)]


def matrix_rows() -> list[tuple[str, ...]]:
    """``(Vietnamese, English, national, provincial)``: the registration, then every action of
    the catalogue (appraisals by round)."""
    register = Action.REGISTER
    rows = [
        _by_level(
            f"{register.label} (`{_command(register)}`)",
            ACTION_EN[register],
            lambda level: roles_for(register, sample_dossier(level), Stage.REGISTERED),
        )
    ]
    for action in CATALOGUE:
        rows += _rows_of(action)
    return rows


def adjustment_rows() -> list[tuple[str, str, str, str, str, str]]:
    """``(kind, Vietnamese, English, national, national group project, provincial)``."""
    national = sample_dossier(Level.QUOC_GIA)
    group = sample_dossier(Level.QUOC_GIA, group_project=True)
    local = sample_dossier(Level.DIA_PHUONG)
    return [
        (
            kind.value,
            kind.label,
            ADJUSTMENT_EN[kind],
            _roles(adjustment_deciders(kind, national)),
            _roles(adjustment_deciders(kind, group)),
            _roles(adjustment_deciders(kind, local)),
        )
        for kind in AdjustmentKind
    ]


def _short(roles: Iterable[Role]) -> str:
    chosen = set(roles)
    return ", ".join(ROLE_SHORT[r] for r in Role if r in chosen) or "—"


def adjustment_deciders_help() -> list[str]:
    """One line per kind of adjustment, who decides it (for ``de-an adjust --help``), from
    :func:`domain.authority.adjustment_deciders`, the rule the workflow enforces."""
    national = sample_dossier(Level.QUOC_GIA)
    group = sample_dossier(Level.QUOC_GIA, group_project=True)
    local = sample_dossier(Level.DIA_PHUONG)
    lines = []
    for kind in AdjustmentKind:
        on_national = adjustment_deciders(kind, national)
        on_group = adjustment_deciders(kind, group)
        text = f"{kind.value} ({kind.label}): quốc gia — {_short(on_national)}"
        if on_group != on_national:
            text += f" (đề án nhóm: {_short(on_group)})"
        text += f"; địa phương — {_short(adjustment_deciders(kind, local))}"
        lines.append(text)
    return lines


BASIS_HOLD_DOC = "Thông tư 36/2013/TT-BCT Điều 12 khoản 5, Điều 18 khoản 2–3, Điều 21 khoản 6"


def stages_allowing(action: Action) -> str:
    """The stages (values, lifecycle order) where ``action`` is possible, from
    :data:`domain.stages.TRANSITIONS`."""
    return ", ".join(f"`{stage.value}`" for stage in Stage if action in allowed_actions(stage))


def hold_lines() -> list[str]:
    """The "payments on hold" section: where visits and resolutions are possible."""
    return [
        f"## Tạm dừng chi trả — Payments on hold ({BASIS_HOLD_DOC})",
        "",
        "- Biên bản kiểm tra, giám sát (`de-an record-visit --hold-payments`) có kiến nghị có "
        "thể tạm dừng chi trả: mọi khoản chi (tạm ứng, chi trả quyết toán) bị từ chối "
        "(`PaymentsOnHold`) đến khi kiến nghị được khắc phục (`de-an resolve-findings`). "
        "Thu hồi nộp ngân sách không bị tạm dừng. — A visit's findings can put payments on "
        "hold: every payment (advance, settlement payout) is refused (`PaymentsOnHold`) until "
        "the findings are resolved. Refunds to the budget are never held.",
        f"- Ghi nhận kiểm tra ở giai đoạn / visits in stages: {stages_allowing(Action.RECORD_VISIT)}.",
        "- Khắc phục kiến nghị ở giai đoạn / resolutions in stages: "
        f"{stages_allowing(Action.RESOLVE_FINDINGS)}. Tạm dừng chi trả không ngăn quyết "
        "toán (hạn quyết toán 22/01 năm sau vẫn áp dụng); đề án đã quyết toán còn khoản chi "
        "bị tạm dừng được khắc phục rồi chi trả. — A hold does not stop the settlement (due "
        "by 22 January of the next year whatever the findings); a settled đề án whose payout is "
        "held has its findings resolved, then is paid.",
    ]


def _table(header: list[str], rows: Iterable[Iterable[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def render_officials_doc() -> str:
    """The Markdown of ``docs/officials.md``."""
    central = ", ".join(f"`{r.value}`" for r in Role if r in CENTRAL_ROLES)
    lines = [
        "# Cán bộ và thẩm quyền — Officials and authority",
        "",
        "<!-- Generated from domain.authority by `khuyencong officials matrix > "
        "docs/officials.md`. Do not edit by hand: "
        "tests/khuyencong/admin/test_officials_doc.py fails when this file and the code "
        "differ. -->",
        "",
        "Mỗi thao tác trên đề án do một cán bộ trong danh sách cán bộ thực hiện "
        "(`khuyencong officials add`), chọn bằng `--as MÃ_CÁN_BỘ` hoặc biến "
        "`KHUYENCONG_OFFICIAL_ID`, sau khi chứng minh danh tính bằng mật khẩu (xem «Danh tính» "
        "dưới đây). Worker kiểm tra chứng nhận danh tính, rồi workflow của đề án kiểm tra vai "
        "trò, địa bàn, nguyên tắc bốn mắt và tình trạng của cán bộ trước khi ghi nhận.",
        "",
        "Every action on a đề án is taken by an official of the register (`khuyencong officials "
        "add`), chosen with `--as OFFICIAL_ID` or `KHUYENCONG_OFFICIAL_ID`, who proves who they "
        "are with a password (see «Proven identity» below). The worker checks the signed "
        "statement of their identity, then the đề án's workflow checks role, jurisdiction, "
        "four-eyes and the official's status before it records anything. Registering a đề án "
        "(starting its workflow) is proven the same way. What is *not* covered: whoever holds "
        "a signing key can vouch for any official of the register (a plan's import is started "
        "by the worker's key for the registrars the import checked in the register).",
        "",
        "## Vai trò — Roles",
        "",
        *_table(
            ["`role`", "Vai trò", "Role", "Tỉnh — province"],
            (
                (
                    f"`{role.value}`",
                    role.label,
                    ROLE_EN[role],
                    "không có / none"
                    if role in CENTRAL_ROLES
                    else "tuỳ chọn / optional (trống: tài chính của Cục / empty: the agency's)"
                    if role is Role.TAI_CHINH
                    else "bắt buộc / required",
                )
                for role in Role
            ),
        ),
        "",
        "## Ai được làm gì — Who may do what",
        "",
        f"Căn cứ chung / general basis: {BASIS_PROCESS}. Phê duyệt, không phê duyệt, ngừng "
        f"thực hiện / approval, rejection, stop: {BASIS_APPROVAL_NATIONAL} (quốc gia / "
        f"national); {BASIS_APPROVAL_LOCAL} (địa phương / provincial).",
        "",
        *_table(
            ["Thao tác (lệnh)", "Action", "Quốc gia — national", "Địa phương — provincial"],
            matrix_rows(),
        ),
        "",
        f"## Điều chỉnh — Adjustments ({BASIS_ADJUST})",
        "",
        "`khuyencong de-an adjust CODE --kind KIND ...`",
        "",
        *_table(
            [
                "`kind`",
                "Nội dung",
                "Kind",
                "Quốc gia — national",
                "Quốc gia, đề án nhóm — national group project",
                "Địa phương — provincial",
            ],
            adjustment_rows(),
        ),
        "",
        "## Địa bàn — Jurisdiction",
        "",
        f"- Vai trò của Bộ ({central}) không gắn với tỉnh và chỉ có thẩm quyền với đề án quốc "
        f"gia theo bảng trên. — Ministry roles ({central}) have no province; the table gives "
        "them national đề án only.",
        "- Trung tâm, Sở Công Thương, UBND tỉnh và tài chính tỉnh chỉ thao tác trên đề án của "
        "tỉnh mình (so sánh tên tỉnh không phân biệt hoa thường, dấu và chữ «tỉnh»). — The "
        "centre, the Sở, the UBND and provincial finance act only on their own province's đề án "
        "(names compared without case, accents or the word «tỉnh»).",
        "- Đề án quốc gia do tài chính của Cục chi trả (cán bộ `tai_chinh` không ghi tỉnh); "
        "tài chính tỉnh không chi đề án quốc gia. — National đề án are paid by the agency's "
        "finance (`tai_chinh` with no province); provincial finance cannot pay them.",
        "- Từ chối / refused as `WrongJurisdiction` (field `actor.province`); sai vai trò / "
        "wrong role: `WrongAuthority` (field `actor.role`).",
        "",
        "## Nguyên tắc bốn mắt — Four-eyes",
        "",
        "- Người đăng ký không thẩm định; người đăng ký hoặc thẩm định không phê duyệt. — Who "
        "registered does not appraise; who registered or appraised does not approve.",
        "- Người phê duyệt, người đề nghị tạm ứng và người quyết toán không chi tiền của đề án "
        "đó. — Who approved, requested the advance or settled does not pay it.",
        "- Áp dụng theo người (mã cán bộ), kể cả khi cán bộ chuyển vai trò "
        "(`khuyencong officials update`). — It follows the person (official ID), also after a "
        "change of role.",
        "- Từ chối / refused as `FourEyesViolation` (field `actor.official_id`).",
        "",
        *hold_lines(),
        "",
        "## Vô hiệu hoá — Deactivation",
        "",
        "`khuyencong officials deactivate ID --reason ...` đánh dấu cán bộ ngừng hoạt động và "
        "báo (signal `official_deactivated`) cho mọi đề án đang mở; từ đó mọi thao tác của cán "
        "bộ này bị từ chối (`InactiveOfficial`), dù gửi từ công cụ nào. — marks the official "
        "inactive and signals every open đề án; from then on their actions are refused "
        "(`InactiveOfficial`), whatever tool sends them.",
        "",
        "## Danh tính — Proven identity",
        "",
        "- Quản trị viên đặt mật khẩu cho cán bộ: `khuyencong officials set-password ID` (hỏi "
        "ẩn, hoặc `--password-stdin`; không bao giờ ghi mật khẩu trên dòng lệnh). Mật khẩu "
        "được băm bằng scrypt trong bảng `official_credentials`. — An administrator sets each "
        "official's password (hidden prompt or `--password-stdin`, never in argv); it is "
        "stored as a scrypt hash.",
        "- `--as ID` hỏi mật khẩu (hoặc đọc `KHUYENCONG_PASSWORD` cho script); sai mật khẩu: "
        "không gửi gì (`IdentityNotProven`). — `--as ID` asks for the password (or reads "
        "`KHUYENCONG_PASSWORD`); a wrong one sends nothing.",
        "- Mỗi update mang trong header `khuyencong_identity` một chứng nhận ký bằng Ed25519 "
        "(mã khoá `kid`): mã cán bộ, vai trò, tỉnh, workflow (đề án), tên update, mã update, "
        "thời điểm cấp và hết hạn (5 phút). — Each update carries in the header "
        "`khuyencong_identity` a statement signed with Ed25519 (key id `kid`) binding the "
        "official's ID, role and province to one workflow, one update name and one update ID, "
        "for 5 minutes.",
        "- Worker kiểm tra trước trình xác thực của workflow, không ghi gì vào lịch sử khi từ "
        "chối: `IdentityNotProven` (thiếu, chữ ký sai, khoá không được chấp nhận), "
        "`IdentityExpired` (hết hạn), `IdentityMismatch` (cấp cho đề án, update hoặc mã update "
        "khác; `actor` không phải người được chứng nhận; vai trò hoặc tỉnh khác danh sách), "
        "`OfficialUnknown` (không có trong danh sách), `InactiveOfficial` (đã vô hiệu hoá). — "
        "The worker checks it before the workflow's validator, against its in-memory copy of "
        "the register (refreshed at once on every change), and a refusal leaves no history.",
        "- Gửi bằng Temporal CLI: `khuyencong token --as ID --de-an CODE --action appraise "
        "[--update-id X]` in ra lệnh `temporal workflow update execute ... --update-id X "
        "--headers 'khuyencong_identity=\"kc1...\"'`. — With the raw Temporal CLI, "
        "`khuyencong token` prints the statement and the command to paste.",
        "- Đăng ký đề án cũng phải chứng minh: lệnh khởi tạo `DeAnWorkflow` mang chứng nhận "
        "của `registered_by` (update `register`, không có mã update, gắn với workflow). "
        "Workflow cho local activity `verify_registration` kiểm tra trước mọi việc khác (chữ "
        "ký, hạn, workflow, `registered_by` là người được chứng nhận, cán bộ Trung tâm đang "
        "hoạt động của tỉnh của đề án); kết quả được ghi vào lịch sử. Bị từ chối "
        "(`IdentityNotProven`, `IdentityExpired`, `IdentityMismatch`, `OfficialUnknown`, "
        "`InactiveOfficial`, `WrongAuthority`, `WrongJurisdiction`): workflow thất bại, không "
        "ghi gì vào cơ sở dữ liệu, mã đề án đăng ký lại được. Bằng Temporal CLI: `khuyencong "
        "token --as ID --de-an CODE --action register` rồi `temporal workflow start ... "
        "--headers 'khuyencong_identity=\"kc1...\"'`. — Registration is proven too: the "
        "start of a `DeAnWorkflow` carries a statement for its `registered_by` (action "
        "`register`, no update ID), verified first by the local activity "
        "`verify_registration` (signature, expiry, binding, subject, an active Trung tâm of "
        "the dossier's province), whose verdict is recorded in the history; a refusal fails "
        "the workflow before anything is stored, and the code can be registered again.",
        "",
    ]
    return "\n".join(lines)
