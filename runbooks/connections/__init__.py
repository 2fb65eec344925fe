"""Where teams keep their runbooks: Confluence, Notion, GitHub and GitLab, each one module.

Each connector turns the pages (or files) of one configured connection into `SourcePage`s of
Markdown that the ordinary importer reads; storing versions and reporting is the service's job.
"""
