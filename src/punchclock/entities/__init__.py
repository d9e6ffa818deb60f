"""Machinery shared by customers, projects and activities: columns, meta fields, rates, comments, CRUD."""
