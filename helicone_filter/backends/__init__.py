"""The backends: each reads the validated form (`helicone_filter.form`) and writes Helicone's
JSON, the canonical text, SQL or a request body, or answers whether a row matches.

Backends are peers: they never import a front end or the ways in (`helicone_filter.api`), and
they never take a user's filter themselves; what reads one and hands it to a backend is a way
in (`helicone_filter.api`).
"""
