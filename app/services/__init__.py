"""Use cases that change data: each validates, owns its transaction and is audited."""
