"""`make run`'s port check (issue 10): a port whose last connections linger in TIME_WAIT
after a stopped run is free (uvicorn binds it with SO_REUSEADDR), one with a live
listener is not."""

from __future__ import annotations

import socket

from devstack.processes import free_port, port_is_free


def test_a_port_in_time_wait_is_free_and_a_listened_one_is_not() -> None:
    port = free_port()
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen()
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    assert not port_is_free(port)  # a live listener
    # The server side closes first, so its end of the connection sits in TIME_WAIT.
    accepted.close()
    client.close()
    server.close()
    assert port_is_free(port)
