"""Reusable layout pieces shared by every page."""
