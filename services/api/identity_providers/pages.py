"""The page a person sees when a sign-in through an identity provider is refused: plain
HTML in words (they arrive here by a browser redirect, not from the web app's code)."""

from __future__ import annotations

from html import escape

from fastapi.responses import HTMLResponse

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in refused · Northstar</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto;
       padding: 0 1rem; color: #1f2933; line-height: 1.5 }}
h1 {{ font-size: 1.4rem }} a {{ color: #1d4ed8 }}
</style></head>
<body><main>
<h1>{title}</h1>
<p id="reason">{reason}</p>
<p><a href="/">Back to the sign-in page</a></p>
</main></body></html>
"""


def refusal_page(reason: str, *, status: int = 400, title: str = "Sign-in refused") -> HTMLResponse:
    """`reason` is shown as text (escaped); the page is never cached."""
    return HTMLResponse(
        _PAGE.format(title=escape(title), reason=escape(reason)),
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )
