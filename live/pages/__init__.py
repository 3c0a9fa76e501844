"""The live app's pages (live/server.py imports each one listed in its PAGES): shown to visitors beside their
source, self-contained on purpose like the Flask site's pages/."""
