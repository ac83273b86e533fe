"""Server-rendered pages for hospital staff: the same services and selectors as the API, so access and audit are identical."""
