"""The Flask site's registry entry for /live/progress (nav, home catalogue, strategy records); the page itself is
live/pages/progress.py on the live app, which asgi.py serves."""

import dash

from components.live_entry import placeholder
from strategies.live_progress import STRATEGY

dash.register_page(__name__, **STRATEGY.page_args())
META = STRATEGY.meta()


def layout(**_query):
    return placeholder(META)
