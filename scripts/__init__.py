"""Tools run from the project root as modules, e.g. `python3 -m scripts.screenshots`: run that way, the
project's own modules (config, serve, tests.support) import without any sys.path edit."""
