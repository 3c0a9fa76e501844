"""The headless Chromium every tool here drives: Debian's binary (no browser download exists) and its flags."""

CHROMIUM = "/usr/bin/chromium"
# No background traffic, no updates, no sync, no QUIC: a page's requests are the only ones measured or seen.
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
