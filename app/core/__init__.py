"""What every domain shares and that knows no domain: typed errors, the audit trail, the claim
and command helpers, tabular files, chunked lookups, progress reporting, safe JSON, CLI helpers."""
