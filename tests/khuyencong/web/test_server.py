"""Serving the web desk: its address, a busy port named with the setting to change, and the
``khuyencong web`` command."""

from __future__ import annotations

import socket

import httpx
import pytest
from typer.testing import CliRunner

from khuyencong.cli import app
from khuyencong.settings import StartupError
from khuyencong.web.server import bind_socket, web_desk
from tests.khuyencong.web.conftest import Desk


def test_a_busy_port_stops_the_desk_with_the_setting_to_change() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(StartupError, match="KHUYENCONG_WEB_BIND"):
            bind_socket(f"127.0.0.1:{port}")


def test_khuyencong_web_is_a_command_with_its_bind_option() -> None:
    result = CliRunner().invoke(app, ["web", "--help"])
    assert result.exit_code == 0 and "--bind" in result.stdout


async def test_the_desk_answers_on_the_address_it_yields_with_its_security_headers(
    desk: Desk,
) -> None:
    async with web_desk(desk.admin, desk.settings, bind="127.0.0.1:0") as url:
        async with httpx.AsyncClient(base_url=url) as client:
            page = await client.get("/dang-nhap")
    assert page.status_code == 200 and "Đăng nhập" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
