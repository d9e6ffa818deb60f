"""Command-line tools that work through the Kimai API of any compatible server (Kimai 2 or Punchclock)."""
