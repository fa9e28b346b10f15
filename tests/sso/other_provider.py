"""A second, separate Canaille on loopback whose discovery document names an `https://`
issuer while it serves plain HTTP: the provider as it looks behind a proxy that is set up
wrong, so its issuer differs from the address Northstar was given.

Run as `python -m tests.sso.other_provider PORT`; serves until terminated.
"""

from __future__ import annotations

import sys
import uuid
import wsgiref.simple_server

from canaille import create_app
from joserfc.jwk import JWKRegistry


def main(port: int) -> None:
    key = JWKRegistry.generate_key("RSA", 2048)
    key.ensure_kid()
    app = create_app(
        config={
            "TESTING": True,
            "ENV_FILE": None,
            "SECRET_KEY": str(uuid.uuid4()),
            "SERVER_NAME": f"127.0.0.1:{port}",
            "PREFERRED_URL_SCHEME": "https",
            "CANAILLE": {"DATABASE": "memory", "JAVASCRIPT": False},
            "CANAILLE_OIDC": {"ACTIVE_JWKS": [key.as_dict(private=True)]},
        },
        env_file=None,
        env_prefix="NORTHSTAR_TEST_OTHER_IDP_",
    )
    wsgiref.simple_server.make_server("127.0.0.1", port, app).serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]))
