"""The live app: the site's pages whose callbacks run over a WebSocket (Dash's FastAPI backend).

live/server.py builds the app; each live page module (live/pages/progress.py, live/pages/shared.py) registers its
layout with live.server.page and its callbacks with @live.server.live.callback(..., websocket=True).
asgi.py serves it beside the Flask site on one port.
"""
