"""Extensions beyond Kimai's API, under /api/ext/: old Kimai clients never see them."""
