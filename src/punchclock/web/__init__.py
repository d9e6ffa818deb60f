"""The browser pages served next to the API: the API explorer (plain HTML, CSS and JavaScript)."""
