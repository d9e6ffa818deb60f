"""The Kimai API version Punchclock emulates."""

KIMAI_VERSION = "2.66.0"
KIMAI_VERSION_ID = 26600
KIMAI_COPYRIGHT = f"Kimai {KIMAI_VERSION} by Kevin Papst."
