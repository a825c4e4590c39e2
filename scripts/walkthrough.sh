#!/usr/bin/env bash
# Take the demo's BG-2019-DP-01 from registration to closing with the Temporal CLI, one
# official's action per command. Run it while `bash scripts/dev.sh` is up (another terminal).
# KHUYENCONG_TEMPORAL_ADDRESS (default 127.0.0.1:7233) and DE_AN (default BG-2019-DP-01)
# choose the server and the đề án.
#
# Each update carries the acting official's signed statement in the header
# khuyencong_identity, from `khuyencong token` (it checks the official's password: set
# KHUYENCONG_PASSWORD, on the dev stack `khuyencong-dev`, or type it at each prompt). The
# statement is valid for that update ID of that đề án only, for 5 minutes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ADDRESS="${KHUYENCONG_TEMPORAL_ADDRESS:-127.0.0.1:7233}"
DE_AN="${DE_AN:-BG-2019-DP-01}"

# The officials who act (in production they come from the officials register).
TT='{"official_id":"BG-TTKC-012","full_name":"Nguyễn Thị Thu Hà","role":"trung_tam","organisation":"Trung tâm Khuyến công và Xúc tiến thương mại tỉnh Bắc Giang","province":"Bắc Giang"}'
SO='{"official_id":"BG-SCT-003","full_name":"Trần Văn Minh","role":"so_cong_thuong","organisation":"Sở Công Thương tỉnh Bắc Giang","province":"Bắc Giang"}'
UBND='{"official_id":"BG-UBND-001","full_name":"Lê Ánh Dương","role":"ubnd_tinh","organisation":"UBND tỉnh Bắc Giang","province":"Bắc Giang"}'
KT='{"official_id":"BG-KT-007","full_name":"Vũ Thị Hạnh","role":"tai_chinh","organisation":"Phòng Kế hoạch – Tài chính, Sở Công Thương Bắc Giang","province":"Bắc Giang"}'

# Payloads are encrypted when codec keys are set: KHUYENCONG_CODEC_ENDPOINT (printed by
# `khuyencong dev`, e.g. http://127.0.0.1:8234) lets the CLI show results in clear.
CODEC=()
if [ -n "${KHUYENCONG_CODEC_ENDPOINT:-}" ]; then CODEC=(--codec-endpoint "$KHUYENCONG_CODEC_ENDPOINT"); fi

act() {  # act UPDATE-NAME OFFICIAL-ID JSON-INPUT
    echo "== $1"
    # A fresh statement of the official's identity for this update (khuyencong token), in the
    # khuyencong_identity header. A đề án refuses an update as DeAnBusy while it registers or
    # records another action; nothing was judged, so it is sent again a moment later.
    local update_id="$DE_AN:$1:$2:walkthrough" statement out
    for _ in $(seq 60); do
        statement="$(.venv/bin/khuyencong token --as "$2" --de-an "$DE_AN" --action "$1" \
            --update-id "$update_id" --statement-only)"
        if out=$(.venv/bin/temporal workflow update execute --address "$ADDRESS" "${CODEC[@]}" \
            --workflow-id "de-an/$DE_AN" --name "$1" --update-id "$update_id" \
            --headers "khuyencong_identity=\"$statement\"" --input "$3" --output json 2>&1); then
            echo "$out"
            return 0
        fi
        case "$out" in *DeAnBusy*) sleep 0.5 ;; *) echo "$out" >&2; return 1 ;; esac
    done
    echo "$out" >&2
    return 1
}

act appraise         BG-SCT-003 "{\"actor\":$SO,\"verdict\":\"pass\",\"appraised_on\":\"2019-02-20\",\"minutes_number\":\"12/BB-HĐTĐ\",\"by_council\":true}"
act approve          BG-UBND-001 "{\"actor\":$UBND,\"decision_number\":\"427/QĐ-UBND\",\"decision_date\":\"2019-03-09\",\"signer\":\"Lê Ánh Dương\",\"approved_support\":150000000}"
act sign_contract    BG-SCT-003 "{\"actor\":$SO,\"contract_number\":\"05/2019/HĐ-KC\",\"signed_on\":\"2019-03-20\",\"contracted_support\":150000000}"
act report_progress  BG-TTKC-012 "{\"actor\":$TT,\"month\":\"2019-06\",\"investment_done_bp\":7500,\"spent_cost\":290000000,\"reported_on\":\"2019-06-20\"}"
act confirm_progress BG-SCT-003 "{\"actor\":$SO,\"month\":\"2019-06\",\"confirmed_on\":\"2019-06-22\"}"
act request_advance  BG-TTKC-012 "{\"actor\":$TT,\"amount\":105000000,\"requested_on\":\"2019-06-24\"}"
act pay_advance      BG-KT-007 "{\"actor\":$KT,\"request_no\":1,\"paid_on\":\"2019-06-28\",\"voucher_number\":\"UNC-0412\"}"
act accept           BG-SCT-003 "{\"actor\":$SO,\"minutes_number\":\"31/BB-NT\",\"accepted_on\":\"2019-10-30\",\"accepted_cost\":372000000,\"accepted_volume_bp\":10000}"
act submit_settlement_dossier BG-TTKC-012 "{\"actor\":$TT,\"submitted_on\":\"2019-11-08\"}"
act settle           BG-SCT-003 "{\"actor\":$SO,\"settlement_number\":\"44/BB-QT\",\"settled_on\":\"2019-12-10\"}"
act pay_settlement   BG-KT-007 "{\"actor\":$KT,\"paid_on\":\"2019-12-16\",\"voucher_number\":\"UNC-0977\"}"
