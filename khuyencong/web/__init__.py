"""The officials' web desk: log in, see what waits, act, with every refusal explained.

Server-rendered pages (Starlette + Jinja2), in Vietnamese, over the same typed client as the
CLI (:class:`~khuyencong.admin.client.AdminClient`): the inbox, the đề án list and page, one
form per action generated from the catalogue (:mod:`workflows.de_an_actions`), a health page.
Every action goes through ``AdminClient.act`` and carries the official's signed identity
statement, exactly as ``khuyencong de-an <action>`` does; the workflow's validators decide.

- :mod:`khuyencong.web.app`: the pages (:func:`~khuyencong.web.app.create_app`);
- :mod:`khuyencong.web.auth`: sessions, CSRF, login with lockout, the SSO header;
- :mod:`khuyencong.web.forms`: forms generated from the actions' command models;
- :mod:`khuyencong.web.fmt`: dates dd/mm/yyyy, money ``150.000.000 đ``;
- :mod:`khuyencong.web.server`: ``khuyencong web`` and the dev stack's server (uvicorn).
"""
