"""Bulk writes of customers, projects, activities and timesheets, made upserts by ``externalId``."""
