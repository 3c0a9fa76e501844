"""Peer sites the benchmark measures beside Dash State Lab: small Dash apps of their own, served by their own
gunicorn (started by bench/peers). They are sites, not harness: like app.py they may use the site's
components (the same consumers as the serverside page, for a fair comparison); bench/ never imports them."""
