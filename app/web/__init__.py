"""Shared screen machinery: the scoped model view (modelview.py), search-as-you-type lookups
(lookup.py), the shared REST base (api.py), the menu cache and the landing page."""
