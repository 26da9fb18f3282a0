"""The brand's knowledge: articles kept in a pack (`knowledge/*.md`) and retrieval over them and over the
team's sent replies. Pure values in, values out: the pack store reads the files, this package parses and
indexes them (docs/DESIGN.md, "Knowledge")."""
