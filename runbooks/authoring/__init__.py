"""From the text teams already have to a versioned `Runbook`: structured and prose Markdown, YAML,
front matter, placeholders, the optional grounded LLM help, quality lints, and every way in
(paste, upload, folder, git) through `importer`."""
