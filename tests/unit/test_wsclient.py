"""bench/wsclient.py against a tiny Dash app on the FastAPI backend, served by uvicorn in this process:
the protocol as the renderer speaks it (callback_request / callback_response, set_props pushes, batches,
get_props, heartbeat), frame bytes counted each way, Origin checked, reconnect after a server close."""

from __future__ import annotations

import asyncio
import os
import threading

import dash
import pytest
import uvicorn
from dash import Dash, Input, Output, ctx, dcc, html, set_props

from bench.dashclient import Browser
from bench.dashgraph import DashClientError
from bench.wsclient import Socket, WsPage, http_requests, js_stringify
from serve import free_port
from tests.support import wait_until

PREFIX = "/tiny/"


def _tiny_app() -> Dash:
    app = Dash("tiny_ws_app", backend="fastapi", url_base_pathname=PREFIX)
    app.layout = html.Div([dcc.Location(id="where"), html.Button("go", id="go"), html.Button("drop", id="drop"),
                           html.Div(id="out"), html.Div(id="step"), html.Div(id="path"), dcc.Store(id="who"),
                           html.Div(id="echo")])

    @app.callback(Output("out", "children"), Input("go", "n_clicks"), prevent_initial_call=True, websocket=True)
    async def go(n_clicks):
        for i in range(3):
            set_props("step", {"children": f"step {i}"})
            await asyncio.sleep(0.02)
        return f"done {n_clicks}"

    @app.callback(Output("path", "children"), Input("where", "pathname"), websocket=True)
    async def path(pathname):
        return f"at {pathname}"

    @app.callback(Output("echo", "children"), Input("step", "children"), prevent_initial_call=True)
    def echo(step):  # an HTTP callback that follows a pushed prop
        return f"saw {step}"

    @app.callback(websocket=True, persistent=True)
    async def hello():
        seen = await ctx.websocket.get_prop("who", "data")
        set_props("who", {"data": {"pid": os.getpid(), "before": seen, "n": (seen or {}).get("n", 0) + 1}})

    @app.callback(Output("drop", "title"), Input("drop", "n_clicks"), prevent_initial_call=True, websocket=True)
    async def never(_n):
        return "not dropped"

    return app


def _drop_hook(_websocket, message):
    payload = message.get("payload") or {} if isinstance(message, dict) else {}
    return (4002, "dropped") if payload.get("output") == "drop.title" else True


@pytest.fixture(scope="module")
def tiny():
    dash.hooks.websocket_message()(_drop_hook)
    app = _tiny_app()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app.server, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 30, message="uvicorn serving the tiny app")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_a_websocket_callback_pushes_steps_and_answers_on_the_socket(tiny):
    page = WsPage(Browser(tiny), PREFIX)
    try:
        page.open()
        assert page.get("path", "children") == f"at {PREFIX}", "the Location gets the path, as the browser sets it"
        page.wait_for(lambda: page.get("who", "data"), 10, "the persistent callback's push")
        interaction = page.set_props([("go", "n_clicks", 1)])
        assert interaction.all_errors == []
        assert page.get("out", "children") == "done 1"
        assert [p.props["children"] for p in page.pushes if p.component == "step"] == ["step 0", "step 1", "step 2"]
        assert http_requests(interaction) == 0, "the callback went over the socket"
        wait_until(lambda: page.get("echo", "children") == "saw step 2", 10, message="the HTTP callback that follows a push")
        stats = page.socket.stats
        assert stats.connects == 1
        call = interaction.calls[0]
        assert call.host.startswith("ws://") and call.up > 0 and call.down > 0
        # Every byte each way is a frame: what was sent is what the counters hold.
        assert stats.bytes("up") == sum(f.size for f in stats.frames if f.direction == "up") > 0
        assert any(len(f.kinds) > 1 for f in stats.frames if f.direction == "down") or stats.count("down") >= 4
    finally:
        page.close()


def test_persistent_callback_reads_props_and_runs_again_after_the_server_drops_the_socket(tiny):
    page = WsPage(Browser(tiny), PREFIX)
    try:
        page.open()
        first = page.wait_for(lambda: page.get("who", "data"), 10, "the first hello")
        assert first["n"] == 1 and first["before"] is None
        interaction = page.set_props([("drop", "n_clicks", 1)])
        assert interaction.all_errors == [] and page.get("drop", "title") is None, "a dropped socket answers prevent_update"
        again = page.wait_for(lambda: (page.get("who", "data") or {}).get("n") == 2 and page.get("who", "data"), 20,
                              "the persistent callback after the reconnect")
        assert again["before"] == first, "get_props answered with the value the page held"
        assert page.socket.stats.closes[0] == (4002, "dropped")
        assert page.socket.stats.connects == 2
        page.set_props([("go", "n_clicks", 2)])
        assert page.get("out", "children") == "done 2", "callbacks work on the new connection"
    finally:
        page.close()


def test_a_foreign_origin_is_refused_and_heartbeats_are_acknowledged(tiny):
    with pytest.raises(DashClientError):
        Socket(tiny, PREFIX, origin="http://evil.example").connect()
    socket = Socket(tiny, PREFIX).connect()
    try:
        socket.heartbeat()
        wait_until(lambda: any("heartbeat_ack" in f.kinds for f in socket.stats.frames), 10, message="heartbeat_ack")
        assert socket.stats.bytes("up") == len(js_stringify({"type": "heartbeat"}).encode())
    finally:
        socket.close()
    assert socket.close_code == 1000
