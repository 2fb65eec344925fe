"""Helpers the tests share: the product wired for a test, real servers (sshd, Alertmanager, processes),
local stand-ins for services we cannot reach (Slack, the Anthropic API), and the history recorder."""
