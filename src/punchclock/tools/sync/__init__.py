"""``punchclock sync``: a Kimai-compatible server's data in a local SQLite or PostgreSQL database for BI.

``schema`` defines the tables, ``records`` turns API views into their rows, ``writer`` applies batches
with their checkpoint in one transaction, ``source_feed`` reads Punchclock's change feed,
``source_kimai`` a real Kimai's lists, ``run`` ties them together for the command line.
"""
