"""The change feed: every insert, update and delete of the feed's kinds, in commit order."""
